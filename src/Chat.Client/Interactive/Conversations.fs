/// The model's conversations: finding one, changing one (opening it when new), bringing one into view, a
/// notice in the one in view; and the names completion offers.
module Chat.Client.Conversations

open Chat.Domain
open Chat.Client.Conversation
open Chat.Client.ChatModel

let conversation (m: Model) (t: Target) =
    m.Conversations |> List.tryFind (fun c -> c.Target = t)

let current (m: Model) =
    conversation m m.View |> Option.defaultValue (create m.View)

/// Changes the conversation with `t`, opening it first when it is new.
let withConversation (t: Target) (f: Conversation -> Conversation) (m: Model) =
    match conversation m t with
    | Some _ -> {
        m with
            Conversations = m.Conversations |> List.map (fun c -> if c.Target = t then f c else c)
      }
    | None -> {
        m with
            Conversations = m.Conversations @ [ f (create t) ]
      }

/// Looks at `t`: its unread count is cleared.
let show (t: Target) (m: Model) = {
    withConversation t read m with
        View = t
}

/// A line of the client's or the server's in the conversation in view.
let notice (kind: Kind) (nowMs: int64) (text: string) (m: Model) =
    let entry = {
        Id = None
        At = nowMs
        From = None
        Text = Render.sanitize text
        Kind = kind
    }

    withConversation m.View (append false entry) m

/// The names completion offers.
let names (m: Model) : Completion.Names =
    let me = m.Me |> Option.map Username.value

    let users =
        Seq.append (m.Members |> Seq.map Username.value) m.Users
        |> Seq.filter (fun u -> Some u <> me)
        |> List.ofSeq

    let rooms = [
        yield! m.Rooms |> List.map (fst >> RoomName.value)
        for c in m.Conversations do
            match c.Target with
            | Room r -> RoomName.value r
            | Direct _ -> ()
    ]

    { Users = users; Rooms = rooms }
