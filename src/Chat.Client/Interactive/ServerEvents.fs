/// What each server line the session shows does to the panes: messages into their conversation, presence into
/// the member list, the client's own requests (`/who`, `/rooms`, older history) consumed without a line.
module Chat.Client.ServerEvents

open Chat.Domain
open Chat.Client.Conversation
open Chat.Client.ChatModel
open Chat.Client.Conversations
open Chat.Client.Delivery

/// One line the session shows.
let apply (nowMs: int64) (raw: string) (m: Model) : Model * Effect list =
    match ServerLine.parse raw with
    | None -> notice Notice nowMs (Render.line m.Zone Render.Raw raw |> Option.defaultValue "") m, []
    | Some msg ->
        match msg with
        | Ok ok -> Replies.reply nowMs ok m
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
            let e = message id from nowMs text
            deliver (Room m.Room) { e with Text = "[pub] " + e.Text } m, []
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
