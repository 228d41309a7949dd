/// One conversation of the message pane: a room or a direct-message partner, its lines, what is unread, how far
/// back it is scrolled and whether older history is being fetched.
module Chat.Client.Conversation

open Chat.Domain

/// What a conversation is with.
type Target =
    | Room of RoomName
    | Direct of Username

type Kind =
    /// A message someone sent.
    | Said
    /// The client's or the server's word (presence, replies, notes).
    | Notice
    | Failure

type Entry = {
    /// The message id, when it has one of the form <ms>-<seq>: it orders history and drops duplicates.
    Id: StreamPos option
    /// Unix milliseconds: the id's time for messages, the local clock for the rest.
    At: int64
    From: Username option
    Text: string
    Kind: Kind
}

type Conversation = {
    Target: Target
    /// Oldest first.
    Entries: Entry list
    Unread: int
    /// Entries scrolled back from the newest: 0 follows new messages.
    Scroll: int
    /// Fetching older history: the HIST lines collected so far, oldest first.
    Fetching: Entry list option
    /// The server said there is nothing older.
    AtStart: bool
}

let create (target: Target) = {
    Target = target
    Entries = []
    Unread = 0
    Scroll = 0
    Fetching = None
    AtStart = false
}

let private seen (c: Conversation) (id: StreamPos) =
    c.Entries |> List.exists (fun e -> e.Id = Some id)

/// Lines a conversation keeps; older ones are dropped (scrolling back past them fetches them again).
[<Literal>]
let Capacity = 2000

/// A new line at the end; an id already shown is dropped. `counts`: it is unread until looked at.
let append (counts: bool) (entry: Entry) (c: Conversation) =
    match entry.Id with
    | Some id when seen c id -> c
    | _ ->
        let entries = c.Entries @ [ entry ]
        let over = entries.Length - Capacity

        {
            c with
                Entries = if over > 0 then List.skip over entries else entries
                // What was dropped is not the room's start any more.
                AtStart = c.AtStart && over <= 0
                Unread = if counts then c.Unread + 1 else c.Unread
                // Scrolled back, the view stays where it is as lines arrive below it.
                Scroll = if c.Scroll > 0 then c.Scroll + 1 else 0
        }

/// The oldest message id: where `/history before` starts.
let oldestId (c: Conversation) = c.Entries |> List.tryPick _.Id

/// Older history arrived (oldest first): put before what is shown, without the lines already there.
let prepend (older: Entry list) (c: Conversation) =
    let fresh = older |> List.filter (fun e -> e.Id |> Option.forall (seen c >> not))

    { c with Entries = fresh @ c.Entries }

let read (c: Conversation) = { c with Unread = 0 }
