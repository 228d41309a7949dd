/// What the view tests share: a model of alice's session, events run through `update`, the screen.
module Chat.Client.Tests.ViewScript

open System
open Chat.Domain
open Chat.Client
open Chat.Client.ChatModel

let server = {
    Address = "localhost:8000"
    Protocol = "TLS 1.3"
    VerifiedBy = "CA certs/server.crt"
}

let user s = (Username.tryCreate s).Value
let room s = (RoomName.tryCreate s).Value

let fresh () =
    initial server (Some(user "alice")) true false TimeZoneInfo.Utc

/// Runs the events, gathering the effects.
let run (events: Event list) (m: Model) =
    events
    |> List.fold
        (fun (m, effects) e ->
            let m, more = ChatUpdate.update e m
            m, effects @ more)
        (m, [])

let lines (raws: string list) = raws |> List.map (fun r -> Line(r, 0L))

let keys (s: string) =
    s |> Seq.map (string >> Text >> Pressed) |> List.ofSeq

/// alice logged in, in #dev with bob, the quiet /who and /rooms answered.
let inDev () =
    fresh ()
    |> run (
        lines [ "OK LOGIN alice lobby" ]
        @ [ Ready(room "dev") ]
        @ lines [ "OK WHO lobby alice"; "OK WHO dev alice bob"; "OK ROOMS dev:2 lobby:3" ]
    )
    |> fst

let screen (m: Model) = Screen.render m 80 24

let has (what: string) (m: Model) =
    screen m |> List.exists (fun l -> l.Contains what)

let inputLine (m: Model) = List.last (screen m)
