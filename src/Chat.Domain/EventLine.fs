/// The lines that carry events through shared state. A stream entry holds one event line (Redis:
/// the entry's `e` field); the stream's channel carries `<prev> <id> <line>`, so that a receiver
/// sequences it (StreamCursor) before reading it. What the stream itself says is left out of the
/// line: the room, the message id, the publisher. Decoding validates every name, since anything
/// read from shared state is input like any other.
module Chat.Domain.EventLine

/// One event of a room's stream.
[<RequireQualifiedAccess>]
type RoomEvent =
    | Said of from: Username * text: string
    | Entered of Username * SessionId
    | Left of Username * SessionId

let private tab = '\t'

// S<TAB>from<TAB>text | E<TAB>user<TAB>sid | L<TAB>user<TAB>sid
let encodeRoom (event: RoomEvent) =
    match event with
    | RoomEvent.Said(from, text) -> System.String.Concat("S\t", Username.value from, "\t", text)
    | RoomEvent.Entered(user, sid) -> System.String.Concat("E\t", Username.value user, "\t", SessionId.value sid)
    | RoomEvent.Left(user, sid) -> System.String.Concat("L\t", Username.value user, "\t", SessionId.value sid)

let private split (line: string) =
    if isNull line then [||] else line.Split(tab, 3)

let decodeRoom (line: string) : RoomEvent option =
    match split line with
    | [| "S"; u; text |] -> Username.tryCreate u |> Option.map (fun u -> RoomEvent.Said(u, text))
    | [| "E"; u; s |] -> Option.map2 (fun u s -> RoomEvent.Entered(u, s)) (Username.tryCreate u) (SessionId.tryCreate s)
    | [| "L"; u; s |] -> Option.map2 (fun u s -> RoomEvent.Left(u, s)) (Username.tryCreate u) (SessionId.tryCreate s)
    | _ -> None

/// The bus event a room's entry `id` stands for.
let roomEvent (room: RoomName) (id: MsgId) (event: RoomEvent) =
    match event with
    | RoomEvent.Said(from, text) -> BusEvent.Said(room, id, from, text)
    | RoomEvent.Entered(user, sid) -> BusEvent.Entered(user, sid, room)
    | RoomEvent.Left(user, sid) -> BusEvent.Left(user, sid, room)

/// The tail of a publication's line after `P<TAB>`: the recipients (the publisher's followers when
/// it was sent, joined by ',') and the text. Written by the publish script, which knows the
/// followers; `publicationHead` is what the shell gives it.
let publicationHead = "P\t"

let private users (s: string) =
    if s = "" then
        Some []
    else
        let us = s.Split ',' |> Array.map Username.tryCreate

        if Array.forall Option.isSome us then
            Some(us |> Array.map Option.get |> List.ofArray)
        else
            None

// P<TAB>recipient,recipient,...<TAB>text
let encodePublication (recipients: Username list) (text: string) =
    System.String.Concat(publicationHead, recipients |> List.map Username.value |> String.concat ",", "\t", text)

/// The publisher's entry `id`: recipients and text.
let decodePublication (publisher: Username) (id: MsgId) (line: string) : BusEvent option =
    match split line with
    | [| "P"; rs; text |] -> users rs |> Option.map (fun rs -> BusEvent.Published(id, publisher, text, rs))
    | _ -> None

// D<TAB>from<TAB>text: a recipient's stream of direct messages.
let encodeDirect (from: Username) (text: string) =
    System.String.Concat("D\t", Username.value from, "\t", text)

/// The recipient's entry `id`: who sent it, and the text.
let decodeDirect (recipient: Username) (id: MsgId) (line: string) : BusEvent option =
    match split line with
    | [| "D"; u; text |] ->
        Username.tryCreate u
        |> Option.map (fun u -> BusEvent.Direct(id, u, recipient, text))
    | _ -> None

// F<TAB>recipient<TAB><prev> <id> <line>: an inbox entry, forwarded on the control channel of the
// instance that holds the recipient's session (an instance reads no channel per user).
let encodeForward (recipient: Username) (framed: string) =
    System.String.Concat("F\t", Username.value recipient, "\t", framed)

/// The recipient and the framed entry of a forwarded inbox entry.
let decodeForward (line: string) : (Username * string) option =
    match split line with
    | [| "F"; u; framed |] -> Username.tryCreate u |> Option.map (fun u -> u, framed)
    | _ -> None

// K<TAB>user<TAB>sid: an instance's control channel, not a stream.
let encodeKick (user: Username) (sid: SessionId) =
    System.String.Concat("K\t", Username.value user, "\t", SessionId.value sid)

let decodeKick (line: string) : BusEvent option =
    match split line with
    | [| "K"; u; s |] -> Option.map2 (fun u s -> BusEvent.Kicked(u, s)) (Username.tryCreate u) (SessionId.tryCreate s)
    | _ -> None

/// `<prev> <id> <line>` as a channel carries it: the entry, not yet decoded.
let frame (prev: string) (id: string) (line: string) =
    System.String.Concat(prev, " ", id, " ", line)

/// The entry a channel message carries, with its place in the stream; None when malformed.
let unframe (message: string) : (StreamPos * StreamPos * string) option =
    let a = if isNull message then -1 else message.IndexOf ' '
    let b = if a < 0 then -1 else message.IndexOf(' ', a + 1)

    if b < 0 then
        None
    else
        match
            StreamPos.tryParse (message.Substring(0, a)), StreamPos.tryParse (message.Substring(a + 1, b - a - 1))
        with
        | Some prev, Some id -> Some(prev, id, message.Substring(b + 1))
        | _ -> None
