/// What the client does with each server line: show it or not, what it sends by itself (the token, the login
/// again, the rejoin and the catch-up after a reconnect), and when the user's lines may go on. Pure: the shell
/// carries out the actions in order.
module Chat.Client.Flow

open Chat.Domain

/// How the session in progress is being logged in.
type Login =
    /// The LOGIN or REGISTER of --user, on the first connection.
    | First
    /// RESUME with the token, after a reconnect.
    | ByToken
    /// LOGIN with the password, after a reconnect.
    | ByPassword

/// What the client does by itself once logged in; each waits for its final reply.
type Step =
    | AskToken
    | Rejoin of RoomName
    | CatchUp of Catchup.Gather

type Phase =
    | LoggingIn of Login
    | Doing of Step * next: Step list
    | Live

type State = {
    /// Whom the client logs in as by itself (--user); None: the user logs in by typing, and no reconnect is made.
    User: Username option
    /// Kept in memory only: it logs in without the password.
    Token: ResumeToken option
    Place: Catchup.Place
    Phase: Phase
    /// Logged in once: a lost connection is worth coming back to.
    WasLoggedIn: bool
}

type Action =
    /// Print this server line (Render decides how).
    | Show of raw: string
    | Send of line: string
    /// The shell's LOGIN line: the shell holds the password.
    | SendPasswordLogin
    /// A status line on stderr.
    | Note of text: string
    /// The user's lines may go on.
    | Ready
    /// The login was refused for good.
    | Refused
    /// Refused for now (rate limit, the old session still known, shared state down): drop this connection and
    /// try again after the backoff.
    | Retry of reason: string

let initial (user: Username option) : State = {
    User = user
    Token = None
    Place = Catchup.enter RoomName.lobby
    Phase = if user.IsSome then LoggingIn First else Live
    WasLoggedIn = false
}

let resumable (s: State) = s.User.IsSome && s.WasLoggedIn

/// Refusals that say "not now" rather than "no".
let private transient =
    function
    | RateLimited
    | DuplicateLogin
    | Unavailable
    | LoginTimeout
    | SlowConsumer -> true
    | _ -> false

let rec private begin' (s: State) (steps: Step list) : State * Action list =
    match steps with
    | [] -> { s with Phase = Live }, [ Ready ]
    | AskToken :: rest -> { s with Phase = Doing(AskToken, rest) }, [ Send "/token" ]
    | Rejoin room :: rest ->
        {
            s with
                Phase = Doing(Rejoin room, rest)
        },
        [ Send $"/join {RoomName.value room}" ]
    | CatchUp g :: rest ->
        let g, line = Catchup.request g

        {
            s with
                Phase = Doing(CatchUp g, rest)
        },
        [ Send line ]

let private next (s: State) (rest: Step list) (now: Action list) =
    let s, later = begin' s rest
    s, now @ later

/// After the server's yes: the token (unless resumed with one), then, after a reconnect, the room and what it missed.
let private loggedIn (s: State) (raw: string) (room: RoomName) (kind: Login) =
    let reconnect = kind <> First
    // The server puts every login in `room` (the lobby); the room to go back to is the one the user was in.
    let place = if reconnect then s.Place else Catchup.enter room

    let s = {
        s with
            Place = place
            WasLoggedIn = true
    }

    let steps = [
        if s.Token.IsNone then
            AskToken
        if reconnect && place.Room <> room then
            Rejoin place.Room
        if reconnect && place.Room = room then
            yield! Catchup.start place |> Option.map CatchUp |> Option.toList
    ]

    next s steps [ Show raw ]

let private afterRejoin (s: State) (rest: Step list) =
    // The catch-up is planned once the room is back, from the place as it is then.
    match Catchup.start s.Place with
    | Some g -> next s (CatchUp g :: rest) []
    | None -> next s rest []

/// The user's own commands and the room's messages, once no step is waiting.
let private live (s: State) (raw: string) (msg: ServerMsg) : State * Action list =
    match msg with
    | Msg(room, id, _, _) when not (Catchup.isNew s.Place room id) -> s, []
    | Msg(room, id, _, _)
    | Hist(room, id, _, _, _) ->
        {
            s with
                Place = Catchup.saw s.Place room id
        },
        [ Show raw ]
    | Ok(Joined room) when room <> s.Place.Room -> { s with Place = Catchup.enter room }, [ Show raw ]
    | Ok(Left _) when s.Place.Room <> RoomName.lobby ->
        {
            s with
                Place = Catchup.enter RoomName.lobby
        },
        [ Show raw ]
    | Ok(LoggedIn(_, room) | Registered(_, room)) -> { s with Place = Catchup.enter room }, [ Show raw ]
    | Ok(TokenIssued t) -> { s with Token = Some t }, [ Show raw ]
    | _ -> s, [ Show raw ]

let private caughtUp (s: State) (rest: Step list) (lines: string list) (place: Catchup.Place) =
    let n = List.length lines

    let note =
        if n = 1 then
            "* caught up 1 message"
        else
            $"* caught up {n} messages"

    next { s with Place = place } rest [ yield! lines |> List.map Show; Note note ]

let private step (s: State) (raw: string) (msg: ServerMsg) (current: Step) (rest: Step list) =
    match current, msg with
    // The answer to our /token is ours: never shown, and an old server's "unknown command" is no news.
    | AskToken, Ok(TokenIssued t) -> next { s with Token = Some t } rest []
    | AskToken, Err _ -> next s rest []
    | Rejoin room, Ok(Joined joined) when joined = room -> afterRejoin s rest
    | Rejoin room, Err(_, text) ->
        // Back in the lobby, whose messages were never followed: nothing to catch up.
        let s, actions =
            next
                {
                    s with
                        Place = Catchup.enter RoomName.lobby
                }
                rest
                []

        s, Note $"* could not rejoin #{RoomName.value room}: {text}" :: actions
    | CatchUp g, Hist(room, id, _, _, _) ->
        match Catchup.holdHistory g room id raw with
        | Some g ->
            {
                s with
                    Phase = Doing(CatchUp g, rest)
            },
            []
        | None -> s, [ Show raw ]
    | CatchUp g, Msg(room, id, _, _) ->
        match Catchup.holdLive g room id raw with
        | Some g ->
            {
                s with
                    Phase = Doing(CatchUp g, rest)
            },
            []
        | None -> live s raw msg
    | CatchUp g, Ok(HistoryDone count) ->
        match Catchup.pageDone g count with
        | Catchup.More g ->
            let g, line = Catchup.request g

            {
                s with
                    Phase = Doing(CatchUp g, rest)
            },
            [ Send line ]
        | Catchup.Done(lines, place) -> caughtUp s rest lines place
    | CatchUp g, Err(_, text) ->
        match Catchup.abandon g with
        | Catchup.Done(lines, place) ->
            let s, actions = caughtUp s rest lines place
            s, Note $"* could not fetch the messages missed: {text}" :: actions
        | Catchup.More _ -> s, []
    | _ -> live s raw msg

let private loggingIn (s: State) (raw: string) (msg: ServerMsg) (kind: Login) =
    match kind, msg with
    | First, Ok(LoggedIn(_, room) | Registered(_, room))
    | ByPassword, Ok(LoggedIn(_, room))
    | ByToken, Ok(Resumed(_, room)) -> loggedIn s raw room kind
    | _, Err(code, text) when kind <> First && transient code -> s, [ Retry $"{ErrorCode.wire code}: {text}" ]
    // Expired, revoked, or a server that knows no RESUME: the password still works.
    | ByToken, Err _ ->
        {
            s with
                Token = None
                Phase = LoggingIn ByPassword
        },
        [
            Note "* the session token was not accepted; logging in with the password"
            SendPasswordLogin
        ]
    | _, Err _ -> s, [ Show raw; Refused ]
    | _ -> s, [ Show raw ]

/// One server line, parsed or not.
let onLine (s: State) (raw: string) (msg: ServerMsg option) : State * Action list =
    match msg, s.Phase with
    | None, _ -> s, [ Show raw ]
    | Some msg, LoggingIn kind -> loggingIn s raw msg kind
    | Some msg, Doing(current, rest) -> step s raw msg current rest
    | Some msg, Live -> live s raw msg

/// A new connection after a lost one (only when `resumable`): log in again, by token if there is one.
let reconnected (s: State) : State * Action list =
    match s.User, s.Token with
    | Some user, Some token ->
        { s with Phase = LoggingIn ByToken }, [ Send $"RESUME {Username.value user} {ResumeToken.value token}" ]
    | _ -> { s with Phase = LoggingIn ByPassword }, [ SendPasswordLogin ]
