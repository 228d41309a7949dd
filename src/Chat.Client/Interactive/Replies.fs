/// What the server's `OK` replies do to the panes: the login and the room, members and rooms, a direct message
/// acknowledged into its conversation, the end of an older-history fetch.
module Chat.Client.Replies

open Chat.Domain
open Chat.Client.Conversation
open Chat.Client.ChatModel
open Chat.Client.Conversations
open Chat.Client.Delivery

/// `OK <COMMAND>`: the client's own requests answered quietly, the rest shown.
let reply (nowMs: int64) (ok: OkReply) (m: Model) : Model * Effect list =
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
