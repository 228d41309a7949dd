namespace Chat.Domain

/// What a client asks for, once its line has been parsed.
type Command =
    | Login of Username * Password
    | Register of Username * Password
    /// `RESUME <user> <token>`: log in with a token an earlier session was issued (`/token`).
    | Resume of Username * ResumeToken
    /// A room message (a line not starting with `/`, or `//text` for `/text`).
    | Say of text: string
    | Join of RoomName
    | Leave
    | Rooms
    | Who
    | Users
    | Subscribe of Username
    | Unsubscribe of Username
    | Subs
    | Publish of text: string
    | History of count: int
    /// The room's messages after the given id, oldest first; ids compare as stream ids.
    | HistoryAfter of MsgId * count: int
    /// The room's messages before the given id, oldest first.
    | HistoryBefore of MsgId * count: int
    /// `/msg <user> <text>`: a direct message.
    | Direct of Username * text: string
    /// `/token`: this session's resume token, issued on first ask.
    | Token
    | Ping of token: string option
    | Help
    | Quit

/// The command words, so that errors can name a command without carrying its arguments.
type Verb =
    | VLogin
    | VRegister
    | VResume
    | VJoin
    | VLeave
    | VRooms
    | VWho
    | VUsers
    | VSubscribe
    | VUnsubscribe
    | VSubs
    | VPublish
    | VHistory
    | VMsg
    | VToken
    | VPing
    | VHelp
    | VQuit

/// Why a non-empty line is not a command.
type ParseError =
    /// A `/word` that names no command.
    | UnknownCommand of word: string
    /// A known command with a missing or malformed argument; `detail` says which, for people.
    | BadArgument of Verb * detail: string

module Verb =
    /// Every command, in the order `/help` lists them.
    let all = [
        VLogin
        VRegister
        VResume
        VJoin
        VLeave
        VRooms
        VWho
        VUsers
        VSubscribe
        VUnsubscribe
        VSubs
        VPublish
        VHistory
        VMsg
        VToken
        VPing
        VHelp
        VQuit
    ]

    /// Usable before login (ergo's `usablePreReg`); everything else answers NOT_LOGGED_IN.
    let usableBeforeLogin =
        function
        | VLogin
        | VRegister
        | VResume
        | VHelp
        | VPing
        | VQuit -> true
        | _ -> false

    let ofCommand =
        function
        | Login _ -> Some VLogin
        | Register _ -> Some VRegister
        | Resume _ -> Some VResume
        | Say _ -> None
        | Join _ -> Some VJoin
        | Leave -> Some VLeave
        | Rooms -> Some VRooms
        | Who -> Some VWho
        | Users -> Some VUsers
        | Subscribe _ -> Some VSubscribe
        | Unsubscribe _ -> Some VUnsubscribe
        | Subs -> Some VSubs
        | Publish _ -> Some VPublish
        | History _
        | HistoryAfter _
        | HistoryBefore _ -> Some VHistory
        | Direct _ -> Some VMsg
        | Token -> Some VToken
        | Ping _ -> Some VPing
        | Help -> Some VHelp
        | Quit -> Some VQuit

    /// How the command is written, as `/help` and error texts show it.
    let usage =
        function
        | VLogin -> "LOGIN <username> <password>"
        | VRegister -> "REGISTER <username> <password>"
        | VResume -> "RESUME <username> <token>"
        | VJoin -> "/join <room>"
        | VLeave -> "/leave"
        | VRooms -> "/rooms"
        | VWho -> "/who"
        | VUsers -> "/users"
        | VSubscribe -> "/subscribe <user>"
        | VUnsubscribe -> "/unsubscribe <user>"
        | VSubs -> "/subs"
        | VPublish -> "/publish <text>"
        | VHistory -> "/history [n], /history after|before <id> [n]"
        | VMsg -> "/msg <user> <text>"
        | VToken -> "/token"
        | VPing -> "/ping [token]"
        | VHelp -> "/help"
        | VQuit -> "/quit"
