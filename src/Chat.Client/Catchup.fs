/// Which room messages the user has seen, and the catch-up after a reconnect: pages of `/history after` with the
/// room's live messages held meanwhile, shown once each and in id order.
module Chat.Client.Catchup

open Chat.Domain

/// The user's room and the latest of its messages shown (None: none yet, or ids that are not `<ms>-<seq>`).
type Place = {
    Room: RoomName
    Last: StreamPos option
}

/// The most messages one `/history after` returns: a full page means there may be more.
let PageSize = Protocol.MaxHistory

let position (id: MsgId) : StreamPos option = StreamPos.tryParse (MsgId.value id)

let enter (room: RoomName) : Place = { Room = room; Last = None }

/// Room ids are ordered within their room, so an id at or before the last one shown has been shown.
/// An id that does not parse cannot be compared, and is shown rather than lost.
let isNew (place: Place) (room: RoomName) (id: MsgId) : bool =
    room <> place.Room
    || match place.Last, position id with
       | Some last, Some p -> p > last
       | _ -> true

let saw (place: Place) (room: RoomName) (id: MsgId) : Place =
    match position id with
    | Some p when room = place.Room && (place.Last |> Option.forall (fun last -> p > last)) -> {
        place with
            Last = Some p
      }
    | _ -> place

/// A catch-up in progress. `Next` is where the next page starts: the last HIST id received, never a live id,
/// since live messages can be later than history not fetched yet.
type Gather = {
    Place: Place
    /// Where the page in flight started.
    Asked: StreamPos
    Next: StreamPos
    Held: Map<StreamPos, string>
}

/// None when nothing was seen in the room: there is no id to ask "after".
let start (place: Place) : Gather option =
    place.Last
    |> Option.map (fun last -> {
        Place = place
        Asked = last
        Next = last
        Held = Map.empty
    })

/// The next page's request, and the gather waiting for it.
let request (g: Gather) : Gather * string =
    { g with Asked = g.Next }, $"/history after {StreamPos.render g.Next} {PageSize}"

/// A message of the room (HIST of a page, or a live MSG) as its raw line; false when it is not the catch-up's to
/// hold (another room, an id that does not parse), and is shown at once instead.
let private hold (g: Gather) (room: RoomName) (id: MsgId) (raw: string) : Gather option =
    match position id with
    | Some p when room = g.Place.Room ->
        let seen = g.Place.Last |> Option.exists (fun last -> p <= last)

        if seen || g.Held.ContainsKey p then
            Some g
        else
            Some { g with Held = g.Held.Add(p, raw) }
    | _ -> None

let holdHistory (g: Gather) (room: RoomName) (id: MsgId) (raw: string) : Gather option =
    hold g room id raw
    |> Option.map (fun held ->
        match position id with
        | Some p when p > held.Next -> { held with Next = p }
        | _ -> held)

let holdLive (g: Gather) (room: RoomName) (id: MsgId) (raw: string) : Gather option = hold g room id raw

type PageEnd =
    /// Send `request` of this gather for the next page.
    | More of Gather
    /// The lines to show, oldest first, and where the user is after them.
    | Done of lines: string list * Place

let private finish (g: Gather) =
    let last =
        match g.Held |> Map.toList |> List.tryLast, g.Place.Last with
        | Some(p, _), _ -> Some p
        | None, last -> last

    Done(g.Held |> Map.toList |> List.map snd, { g.Place with Last = last })

/// `OK HISTORY <count>`: a full page asks for more, unless it brought nothing new to start from (a server that
/// ignores "after" would otherwise be asked forever).
let pageDone (g: Gather) (count: int) : PageEnd =
    if count >= PageSize && g.Next > g.Asked then
        More g
    else
        finish g

/// What was gathered, when the history cannot be read (an error, a server without `/history after`).
let abandon (g: Gather) : PageEnd = finish g
