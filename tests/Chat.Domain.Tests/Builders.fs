/// Values for tests, built through the domain's own smart constructors.
module Chat.Domain.Tests.Builders

open Expecto
open Chat.Domain

let user s = Username.tryCreate s |> Option.get
let room s = RoomName.tryCreate s |> Option.get
let msgId s = MsgId.tryCreate s |> Option.get
let sid s = SessionId.tryCreate s |> Option.get

let password s =
    match Password.tryCreate s with
    | Result.Ok p -> p
    | Result.Error e -> failwithf "not a password: %A" e

let lobby = RoomName.lobby

let limits: Decide.Limits = { MinPassword = 8; MsgRate = 50 }

/// A logged-in session of `name` in `roomName` with a full bucket at t = 0.
let activeIn name roomName = {
    User = user name
    Room = room roomName
    Bucket = TokenBucket.full limits.MsgRate 0L
    Token = None
}

let active name roomName = Active(activeIn name roomName)

/// The parse of a non-blank line.
let parsed line =
    match Protocol.parse line with
    | Some input -> input
    | None -> failwithf "blank line: %A" line

/// Parses `line` and decides it at t = 0 with the default limits.
let decide state line =
    Decide.decide limits 0L state (parsed line)

/// The verb of a line that parses to BadArgument, or None for anything else.
let badArgumentVerb line =
    match Protocol.parse line with
    | Some(Result.Error(BadArgument(verb, _))) -> Some verb
    | _ -> None

/// Routes the events in turn; the last routing and all deliveries.
let routeAll events routing =
    ((routing, []), events)
    ||> List.fold (fun (r, acc) e ->
        let r, ds = Routing.route e r
        r, acc @ ds)

let reply msg = Reply msg
let okReply r = Reply(Ok r)
let errReply code text = Reply(Err(code, text))

/// The error code an effect list answers with, when it is a single `ERR`.
let errorCode (effects: Effect list) =
    match effects with
    | [ Reply(Err(code, _)) ] -> Some code
    | _ -> None

/// Type-checked structural equality assertion: `actual =! expected`, an `Expect.equal`.
let (=!) (actual: 'a) (expected: 'a) = Expect.equal actual expected "=!"
