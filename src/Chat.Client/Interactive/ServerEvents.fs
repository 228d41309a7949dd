/// What each server line the session shows does to the panes: messages into their conversation, presence into
/// the member list, the client's own requests (`/who`, `/rooms`, older history) consumed without a line.
module Chat.Client.ServerEvents

open Chat.Domain
open Chat.Client.Conversation
open Chat.Client.ChatModel

/// How many older messages one scroll past the top asks for.
[<Literal>]
let HistoryPage = 50

let private message (id: MsgId) (from: Username) (at: int64) (text: string) =
    let pos = Catchup.position id

    {
        Id = pos
        At = pos |> Option.map _.Millis |> Option.defaultValue at
        From = Some from
        Text = Render.sanitize text
        Kind = Said
    }

/// Into the conversation with `t`: unread unless it is in view or it is the user's own.
let private deliver (t: Target) (entry: Entry) (m: Model) =
    let counts = m.View <> t && entry.From <> m.Me

    let m = {
        m with
            Users =
                entry.From
                |> Option.map Username.value
                |> Option.fold (fun us u -> us.Add u) m.Users
    }

    withConversation t (append counts entry) m

let private presence (room: RoomName) (nowMs: int64) (text: string) (m: Model) =
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

let private fetching (m: Model) =
    conversation m (Room m.Room) |> Option.bind _.Fetching

let private reply (nowMs: int64) (ok: OkReply) (m: Model) : Model * Effect list =
    let shown (m: Model) =
        Render.message m.Zone (Ok ok)
        |> Option.map (fun text -> notice Notice nowMs text m)
        |> Option.defaultValue m

    match ok with
    // After a reconnect the session rejoins its room by itself, and says so with `Ready`.
    | LoggedIn(u, room)
    | Registered(u, room)
    | Resumed(u, room) ->
        let m, effects = entered room { m with Me = Some u }
        shown m, effects
    // Said in the room arrived in, which comes into view.
    | Joined room ->
        let m, effects = entered room m
        shown m, effects
    | OkReply.Left _ ->
        let m, effects = entered RoomName.lobby m
        shown m, effects
    | WhoList(room, users) ->
        let m = if room = m.Room then { m with Members = users } else m

        if m.QuietWho > 0 then
            { m with QuietWho = m.QuietWho - 1 }, []
        else
            shown m, []
    | RoomList rooms ->
        let m = { m with Rooms = rooms }

        if m.QuietRooms > 0 then
            { m with QuietRooms = m.QuietRooms - 1 }, []
        else
            shown m, []
    | DirectSent(id, u) ->
        match m.Outgoing |> List.tryFindIndex (fun (to', _) -> to' = u) with
        | Some i ->
            let _, text = m.Outgoing[i]
            let me = m.Me |> Option.defaultValue u

            let m = {
                m with
                    Outgoing = List.removeAt i m.Outgoing
            }

            deliver (Direct u) (message id me nowMs text) m, []
        | None -> shown m, []
    | HistoryDone count when (fetching m).IsSome ->
        let older = (fetching m).Value

        withConversation
            (Room m.Room)
            (fun c -> {
                prepend older c with
                    Fetching = None
                    AtStart = count < HistoryPage
            })
            m,
        []
    | _ -> shown m, []

/// One line the session shows.
let apply (nowMs: int64) (raw: string) (m: Model) : Model * Effect list =
    match ServerLine.parse raw with
    | None -> notice Notice nowMs (Render.line m.Zone Render.Raw raw |> Option.defaultValue "") m, []
    | Some msg ->
        match msg with
        | Ok ok -> reply nowMs ok m
        | Msg(room, id, from, text) -> deliver (Room room) (message id from nowMs text) m, []
        | Hist(room, id, from, ms, text) ->
            let entry = { message id from ms text with At = ms }

            match fetching m with
            | Some older when room = m.Room ->
                withConversation
                    (Room room)
                    (fun c -> {
                        c with
                            Fetching = Some(older @ [ entry ])
                    })
                    m,
                []
            | _ -> withConversation (Room room) (append false entry) m, []
        | Dm(id, from, text) -> deliver (Direct from) (message id from nowMs text) m, []
        | Pub(id, from, text) ->
            deliver
                (Room m.Room)
                {
                    message id from nowMs text with
                        Text = "[pub] " + Render.sanitize text
                }
                m,
            []
        | Sys(UserJoined(room, u)) ->
            let m =
                if room = m.Room && not (List.contains u m.Members) then
                    {
                        m with
                            Members =
                                List.sortWith
                                    (fun a b -> compare (Username.value a) (Username.value b))
                                    (u :: m.Members)
                    }
                else
                    m

            presence room nowMs $"* {Username.value u} joined #{RoomName.value room}" m, []
        | Sys(UserLeft(room, u)) ->
            let m =
                if room = m.Room then
                    {
                        m with
                            Members = List.filter ((<>) u) m.Members
                    }
                else
                    m

            presence room nowMs $"* {Username.value u} left #{RoomName.value room}" m, []
        | Err(code, _) ->
            let m =
                match code, m.Outgoing with
                | (NoSuchUser | BadArgumentCode), _ :: rest -> { m with Outgoing = rest }
                | _ -> m

            // A failed fetch of older history is given up: the next scroll past the top asks again.
            let m = withConversation (Room m.Room) (fun c -> { c with Fetching = None }) m
            notice Failure nowMs (Render.message m.Zone msg |> Option.defaultValue raw) m, []
        | Hello _
        | Info _
        | Sys _ -> notice Notice nowMs (Render.message m.Zone msg |> Option.defaultValue raw) m, []
