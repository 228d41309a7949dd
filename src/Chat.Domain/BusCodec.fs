/// Bus events as single strings for Redis Pub/Sub. Decoding validates every name,
/// since anything read from shared state is input like any other.
module Chat.Domain.BusCodec

let private sep = '\t'

let encode (event: BusEvent) : string =
    let u = Username.value
    let s = SessionId.value
    let r = RoomName.value

    match event with
    | BusEvent.Entered(user, sid, room) -> String.concat "\t" [ "E"; u user; s sid; r room ]
    | BusEvent.Moved(user, sid, from, into) -> String.concat "\t" [ "M"; u user; s sid; r from; r into ]
    | BusEvent.Exited(user, sid, room) -> String.concat "\t" [ "X"; u user; s sid; r room ]
    | BusEvent.Said(room, id, from, text) -> String.concat "\t" [ "S"; r room; MsgId.value id; u from; text ]
    | BusEvent.Published(id, from, text, recipients) ->
        String.concat "\t" [
            "P"
            MsgId.value id
            u from
            recipients |> List.map u |> String.concat ","
            text
        ]
    | BusEvent.Kicked(user, sid) -> String.concat "\t" [ "K"; u user; s sid ]

let private users (s: string) =
    if s = "" then
        Some []
    else
        let us = s.Split ',' |> Array.map Username.tryCreate

        if Array.forall Option.isSome us then
            Some(us |> Array.map Option.get |> List.ofArray)
        else
            None

/// None for anything malformed; the caller logs and drops it.
let decode (line: string) : BusEvent option =
    let user = Username.tryCreate
    let sid = SessionId.tryCreate
    let room = RoomName.tryCreate

    match (if isNull line then [||] else line.Split(sep, 5)) with
    | [| "E"; u; s; r |] ->
        match user u, sid s, room r with
        | Some u, Some s, Some r -> Some(BusEvent.Entered(u, s, r))
        | _ -> None
    | [| "M"; u; s; f; i |] ->
        match user u, sid s, room f, room i with
        | Some u, Some s, Some f, Some i -> Some(BusEvent.Moved(u, s, f, i))
        | _ -> None
    | [| "X"; u; s; r |] ->
        match user u, sid s, room r with
        | Some u, Some s, Some r -> Some(BusEvent.Exited(u, s, r))
        | _ -> None
    | [| "S"; r; id; u; text |] ->
        match room r, MsgId.tryCreate id, user u with
        | Some r, Some id, Some u -> Some(BusEvent.Said(r, id, u, text))
        | _ -> None
    | [| "P"; id; u; rs; text |] ->
        match MsgId.tryCreate id, user u, users rs with
        | Some id, Some u, Some rs -> Some(BusEvent.Published(id, u, text, rs))
        | _ -> None
    | [| "K"; u; s |] ->
        match user u, sid s with
        | Some u, Some s -> Some(BusEvent.Kicked(u, s))
        | _ -> None
    | _ -> None
