/// What a line typed in the interactive client does: IRC-like commands of its own (`/query`, `/msg` shown in its
/// conversation, `/quit`, `/help`), every other command passed to the server as typed, and text sent to the
/// conversation in view (a room message, or `/msg` to the partner).
module Chat.Client.UserInput

open System
open Chat.Domain
open Chat.Client.Conversation
open Chat.Client.ChatModel
open Chat.Client.Conversations

/// `/help` in the interactive client.
let help = [
    "Commands:"
    "  /join <room>         go to a room (Tab completes room names)"
    "  /leave               back to #lobby"
    "  /msg <user> <text>   a direct message, shown in the conversation with <user>"
    "  /query <user>        open the conversation with <user>; what you type there goes to them"
    "  /who  /rooms  /users who is here, which rooms have members, who is online"
    "  /history [n]         the room's last messages; other server commands pass through as typed"
    "  /quit                leave (Ctrl-C too)"
    "Keys: Enter sends, Up/Down recall lines, Tab completes commands, names and rooms,"
    "  PgUp/PgDn scroll (past the top fetches older history), Ctrl-N/Ctrl-P switch conversation,"
    "  Ctrl-A/E home/end, Ctrl-U/K cut before/after the cursor, Ctrl-W the word before it."
]

let private word (s: string) =
    match s.IndexOf ' ' with
    | -1 -> s, ""
    | i -> s.Substring(0, i), s.Substring(i + 1).Trim(' ')

let private direct (user: Username) (text: string) (m: Model) =
    let m = withConversation (Direct user) id m

    {
        m with
            Outgoing = m.Outgoing @ [ user, text ]
            Users = m.Users.Add(Username.value user)
    },
    [ Send $"/msg {Username.value user} {text}" ]

let private user (nowMs: int64) (name: string) (usage: string) (m: Model) (go: Username -> Model * Effect list) =
    match Username.tryCreate name with
    | Some u -> go u
    | None when name = "" -> notice Failure nowMs $"usage: {usage}" m, []
    | None -> notice Failure nowMs $"invalid user name: {name}" m, []

let private command (nowMs: int64) (line: string) (m: Model) : Model * Effect list =
    let verb, args = word (line.Substring 1)

    match verb.ToLowerInvariant() with
    | "quit" -> m, [ Quit ]
    | "help" -> List.fold (fun m text -> notice Notice nowMs text m) m help, []
    | "query" ->
        user nowMs args "/query <user>" m (fun u ->
            if Some u = m.Me then
                notice Failure nowMs "that is you: /query another user" m, []
            else
                show (Direct u) m, [])
    | "msg" ->
        let name, text = word args

        if String.IsNullOrWhiteSpace text then
            notice Failure nowMs "usage: /msg <user> <text>" m, []
        else
            user nowMs name "/msg <user> <text>" m (fun u -> direct u text m)
    | _ -> m, [ Send line ]

/// The line submitted with Enter.
let submit (nowMs: int64) (line: string) (m: Model) : Model * Effect list =
    if String.IsNullOrWhiteSpace line then
        m, []
    elif line.StartsWith("//", StringComparison.Ordinal) || not (line.StartsWith '/') then
        match m.View with
        | Direct u -> direct u line m
        | Room r when r = m.Room -> m, [ Send line ]
        | Room r -> notice Failure nowMs $"you are not in #{RoomName.value r}: /join {RoomName.value r} first" m, []
    else
        command nowMs line m
