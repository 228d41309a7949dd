/// Where a message goes: into its conversation (unread unless in view or the user's own), with its time from
/// its id; presence into the room's; the room entered and its members asked for.
module Chat.Client.Delivery

open Chat.Domain
open Chat.Client.Conversation
open Chat.Client.ChatModel
open Chat.Client.Conversations

/// How many older messages one scroll past the top asks for.
[<Literal>]
let HistoryPage = 50

let message (id: MsgId) (from: Username) (at: int64) (text: string) =
    let pos = Catchup.position id

    {
        Id = pos
        At = pos |> Option.map _.Millis |> Option.defaultValue at
        From = Some from
        Text = Render.sanitize text
        Kind = Said
    }

/// Into the conversation with `t`: unread unless it is in view or it is the user's own.
let deliver (t: Target) (entry: Entry) (m: Model) =
    let counts = m.View <> t && entry.From <> m.Me

    let m = {
        m with
            Users =
                entry.From
                |> Option.map Username.value
                |> Option.fold (fun us u -> us.Add u) m.Users
    }

    withConversation t (append counts entry) m

let presence (room: RoomName) (nowMs: int64) (text: string) (m: Model) =
    let entry = {
        Id = None
        At = nowMs
        From = None
        Text = text
        Kind = Notice
    }

    withConversation (Room room) (append false entry) m

/// In `room` now: its conversation in view (unless a direct conversation is), its members asked for.
let entered (room: RoomName) (m: Model) : Model * Effect list =
    let m = { m with Room = room; Members = [] }

    let m =
        match m.View with
        | Direct _ -> withConversation (Room room) id m
        | Room _ -> show (Room room) m

    { m with QuietWho = m.QuietWho + 1 }, [ Send "/who" ]

let fetching (m: Model) =
    conversation m (Room m.Room) |> Option.bind _.Fetching
