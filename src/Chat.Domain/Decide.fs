/// The pure decisions: (limits, time, session, parsed line) -> session and effects.
module Chat.Domain.Decide

/// The server options that rules depend on.
type Limits = {
    /// Shortest password REGISTER accepts.
    MinPassword: int
    /// Messages per second per user; 0 = no limit.
    MsgRate: int
}

let private reply msg = Reply msg
let private ok r = Reply(Ok r)
let private err code text = Reply(Err(code, text))

let helpLines = [
    "Commands (a line not starting with / is a message to your room; //text sends /text):"
    for v in Verb.all do
        "  " + Verb.usage v
]

let private help = [ for l in helpLines -> reply (Info l) ] @ [ ok HelpDone ]

let private common =
    function
    | Ping token -> Some [ ok (Pong token) ]
    | Help -> Some help
    | Quit -> Some [ ok QuitDone; CloseConnection ]
    | _ -> None

let private quit (a: ActiveSession) =
    match a.Token with
    | Some t -> [ ok QuitDone; RevokeToken(a.User, t); CloseConnection ]
    | None -> [ ok QuitDone; CloseConnection ]

let notLoggedIn =
    "log in first: LOGIN <username> <password>, or REGISTER <username> <password>"

// LOGIN <user> <password> | REGISTER <user> <password> | RESUME <user> <token> | /help | /ping | /quit
let private anonymous (limits: Limits) (input: Result<Command, ParseError>) =
    match input with
    | Result.Ok(Login(user, pw)) -> [ Authenticate(user, pw) ]
    | Result.Ok(Command.Resume(user, token)) -> [ Effect.Resume(user, token) ]
    | Result.Ok(Register(_, pw)) when Password.length pw < limits.MinPassword -> [
        err BadArgumentCode $"password must have at least {limits.MinPassword} characters"
      ]
    | Result.Ok(Register(user, pw)) -> [ CreateAccount(user, pw) ]
    | Result.Ok cmd when (common cmd).IsSome -> (common cmd).Value
    | Result.Error(BadArgument(verb, detail)) when Verb.usableBeforeLogin verb -> [ err BadArgumentCode detail ]
    | _ -> [ err NotLoggedIn notLoggedIn ]

/// Spends one token of the message rate, or answers RATE_LIMITED.
let private rated (limits: Limits) nowMs (a: ActiveSession) (effect: Effect) =
    match TokenBucket.take limits.MsgRate nowMs a.Bucket with
    | Some bucket -> Active { a with Bucket = bucket }, [ effect ]
    | None -> Active a, [ err RateLimited $"at most {limits.MsgRate} messages a second; slow down" ]

let private loggedIn (limits: Limits) nowMs (a: ActiveSession) (input: Result<Command, ParseError>) =
    let same effects = Active a, effects

    match input with
    | Result.Ok(Login _ | Register _ | Command.Resume _)
    | Result.Error(BadArgument((VLogin | VRegister | VResume), _)) ->
        same [ err AlreadyLoggedIn "this connection is logged in already" ]
    | Result.Ok(Say text) -> rated limits nowMs a (SayInRoom(a.Room, a.User, text))
    | Result.Ok(Publish text) -> rated limits nowMs a (PublishText(a.User, text))
    | Result.Ok(Direct(user, _)) when user = a.User ->
        same [ err BadArgumentCode "you cannot send a direct message to yourself" ]
    | Result.Ok(Direct(user, text)) -> rated limits nowMs a (SendDirect(a.User, user, text))
    | Result.Ok Token ->
        match a.Token with
        | Some t -> same [ ok (TokenIssued t) ]
        | None -> same [ IssueToken a.User ]
    | Result.Ok(Join room) when room = a.Room -> same [ ok (Joined room) ]
    | Result.Ok(Join room) -> same [ MoveRoom(a.User, a.Room, room, Joined room) ]
    | Result.Ok Leave when a.Room = RoomName.lobby -> same [ ok (Left RoomName.lobby) ]
    | Result.Ok Leave -> same [ MoveRoom(a.User, a.Room, RoomName.lobby, Left a.Room) ]
    | Result.Ok Rooms -> same [ Ask ListRooms ]
    | Result.Ok Who -> same [ Ask(ListWho a.Room) ]
    | Result.Ok Users -> same [ Ask ListUsers ]
    | Result.Ok Subs -> same [ Ask(ListSubs a.User) ]
    | Result.Ok(Subscribe user) when user = a.User -> same [ err BadArgumentCode "you cannot subscribe to yourself" ]
    | Result.Ok(Subscribe user) -> same [ Follow(a.User, user) ]
    | Result.Ok(Unsubscribe user) -> same [ Unfollow(a.User, user) ]
    | Result.Ok(History n) -> same [ Ask(ShowHistory(a.Room, n)) ]
    | Result.Ok(HistoryAfter(id, n)) -> same [ Ask(ShowHistoryAfter(a.Room, id, n)) ]
    | Result.Ok(HistoryBefore(id, n)) -> same [ Ask(ShowHistoryBefore(a.Room, id, n)) ]
    | Result.Ok Quit -> same (quit a)
    | Result.Ok(Ping _ | Help as cmd) -> same (common cmd).Value
    | Result.Error(UnknownCommand word) -> same [ err UnknownCommandCode $"{word}; /help lists the commands" ]
    | Result.Error(BadArgument(_, detail)) -> same [ err BadArgumentCode detail ]

/// Decides what one parsed line does in the given session.
let decide
    (limits: Limits)
    (nowMs: int64)
    (state: Session)
    (input: Result<Command, ParseError>)
    : Session * Effect list =
    match state with
    | Anonymous -> state, anonymous limits input
    | Active a -> loggedIn limits nowMs a input
    | Ended -> state, []
