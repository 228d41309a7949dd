namespace Chat.Domain

/// Error codes of `ERR <CODE> <text>`; the set is closed by the protocol.
type ErrorCode =
    | TlsRequired
    | NotLoggedIn
    | AlreadyLoggedIn
    | AuthFailed
    | DuplicateLogin
    | UserExists
    | NoSuchUser
    | UnknownCommandCode
    | BadArgumentCode
    | BadEncoding
    | LineTooLong
    | RateLimited
    | LoginTimeout
    | Unavailable
    | SlowConsumer

/// `OK <COMMAND> [details]`.
type OkReply =
    | LoggedIn of Username * RoomName
    | Registered of Username * RoomName
    /// `OK RESUME <u> <room>`: logged in by a resume token.
    | Resumed of Username * RoomName
    /// `OK TOKEN <t>`: the session's resume token, a secret the client keeps and never shows.
    | TokenIssued of ResumeToken
    /// `OK MSG <id> <user>`: a direct message was sent to `user`.
    | DirectSent of MsgId * Username
    | Joined of RoomName
    | Left of RoomName
    | RoomList of (RoomName * int) list
    | WhoList of RoomName * Username list
    | UserList of Username list
    | Subscribed of Username
    | Unsubscribed of Username
    | SubList of Username list
    | Published of MsgId * recipients: int
    | HistoryDone of count: int
    | Pong of token: string option
    | HelpDone
    | QuitDone

/// `SYS <EVENT> [details]`.
type SysEvent =
    | UserJoined of RoomName * Username
    | UserLeft of RoomName * Username
    | ForcedLogout of text: string
    | Shutdown of text: string

/// Every line a server sends.
type ServerMsg =
    | Hello of serverId: string * text: string
    | Info of text: string
    | Ok of OkReply
    | Err of ErrorCode * text: string
    | Msg of RoomName * MsgId * from: Username * text: string
    | Pub of MsgId * from: Username * text: string
    /// `DM <id> <from> <text>`: a direct message, to its one recipient.
    | Dm of MsgId * from: Username * text: string
    | Hist of RoomName * MsgId * from: Username * unixMs: int64 * text: string
    | Sys of SysEvent

module ErrorCode =
    let all = [
        TlsRequired
        NotLoggedIn
        AlreadyLoggedIn
        AuthFailed
        DuplicateLogin
        UserExists
        NoSuchUser
        UnknownCommandCode
        BadArgumentCode
        BadEncoding
        LineTooLong
        RateLimited
        LoginTimeout
        Unavailable
        SlowConsumer
    ]

    let wire =
        function
        | TlsRequired -> "TLS_REQUIRED"
        | NotLoggedIn -> "NOT_LOGGED_IN"
        | AlreadyLoggedIn -> "ALREADY_LOGGED_IN"
        | AuthFailed -> "AUTH_FAILED"
        | DuplicateLogin -> "DUPLICATE_LOGIN"
        | UserExists -> "USER_EXISTS"
        | NoSuchUser -> "NO_SUCH_USER"
        | UnknownCommandCode -> "UNKNOWN_COMMAND"
        | BadArgumentCode -> "BAD_ARGUMENT"
        | BadEncoding -> "BAD_ENCODING"
        | LineTooLong -> "LINE_TOO_LONG"
        | RateLimited -> "RATE_LIMITED"
        | LoginTimeout -> "LOGIN_TIMEOUT"
        | Unavailable -> "UNAVAILABLE"
        | SlowConsumer -> "SLOW_CONSUMER"

    let private byWire = all |> List.map (fun c -> wire c, c) |> Map.ofList

    let tryParse (s: string) = Map.tryFind s byWire
