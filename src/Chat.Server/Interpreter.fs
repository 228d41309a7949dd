namespace Chat.Server

open System.Threading.Tasks
open Chat.Domain

/// What one session's interpreter needs from the rest of the server.
type SessionContext = {
    Backend: IChatBackend
    Router: LocalRouter
    Passwords: Passwords
    Policy: DuplicateLoginPolicy
    LoginFailures: int
    /// Accounts REGISTER may create per peer address per hour; 0 = no limit.
    RegisterRate: int
    /// How long a `/token` lets RESUME log in (`--token-ttl`).
    TokenTtl: System.TimeSpan
    /// What `decide` checks; the message rate also fills a new session's token bucket.
    Limits: Decide.Limits
    Log: Log
    Metrics: ServerMetrics
    Retries: Retries
    Now: unit -> int64
}

/// Carries out one session's effects, in order, and folds what they change back into the session.
/// The one place where decisions meet Redis, sockets and bcrypt.
type Interpreter(ctx: SessionContext, sid: SessionId, peer: string, outbox: Outbox) =
    let send (msg: ServerMsg) = outbox.Send msg
    let reply ok = send (Ok ok)
    let fail code text = send (Err(code, text))
    let backend = ctx.Backend
    // This connection's room messages, written to shared state together (IMessagePipeline).
    let pipeline = backend.Pipeline()
    let metrics = ctx.Metrics
    let mutable closing = false

    let unavailable = "shared state is unreachable; nothing changed, try again shortly"

    let maybeSent =
        "shared state became unreachable while your message was on its way; it may have been sent"

    // How long a login waits for the lobby's stream to bring its entry back before answering without it.
    let welcomeWait = System.TimeSpan.FromSeconds 2.0

    // After the name was claimed, the steps that follow must not undo it: a step Redis cannot take
    // now is taken again later.
    let followUp (what: string) (step: unit -> unit) =
        try
            step ()
        with BackendUnavailable _ ->
            ctx.Retries.Add(what, step)

    // Takes the name (the policy decides about an existing session); `Login.claimed` decides what
    // follows, in order.
    let claim (attempt: LoginCommand) (user: Username) (success: OkReply) (token: ResumeToken option) (state: Session) =
        let ended =
            match backend.Claim(user, sid, ctx.Policy) with
            | AlreadyOnline -> Login.HeldElsewhere
            | Claimed evicted when ctx.Router.Attach(sid, user, outbox, Ok success) -> Login.Taken evicted
            | Claimed _ -> Login.Overtaken

        let decision = Login.claimed user success ended
        metrics.Login(attempt, decision.Outcome)

        let run state step =
            match step with
            | Login.Answer msg ->
                send msg
                state
            | Login.Evict old ->
                followUp $"evict {Username.value user} {SessionId.value old.Sid}" (fun () -> backend.Evict(user, old))
                state
            | Login.Enter ->
                followUp $"enter {Username.value user} {SessionId.value sid}" (fun () -> backend.Enter(user, sid))
                state
            // The reply goes out with the entry (Routing.attachWelcomed).
            | Login.AwaitWelcome ->
                ctx.Router.AwaitWelcome(sid, welcomeWait)
                state
            | Login.Start ->
                let via =
                    match attempt with
                    | LoginCommand.Login -> "password"
                    | LoginCommand.Register -> "register"
                    | LoginCommand.Resume -> "token"

                ctx.Log.Info(
                    "login",
                    [
                        "user", box (Username.value user)
                        "peer", box peer
                        "sid", box (SessionId.value sid)
                        "via", box via
                    ]
                )

                // After the welcome: the direct messages kept while the user was away, then new ones.
                followUp $"inbox {Username.value user} {SessionId.value sid}" (fun () -> backend.OpenInbox(user, sid))
                Session.evolve state (LoggedInAs(user, TokenBucket.full ctx.Limits.MsgRate (ctx.Now()), token))
            | Login.CloseWith msg ->
                outbox.SendLast msg
                closing <- true
                state

        List.fold run state decision.Steps

    // LOGIN and RESUME alike: the failure limits first (across instances), then the credential's
    // check, then the claim; a failure is counted, logged (never with the credential) and answered.
    let logIn attempt user (welcome: OkReply) token (check: unit -> Login.PasswordCheck) (failure: string) state =
        let byUser, byAddress = backend.FailedLogins(user, peer)

        match Login.admit ctx.LoginFailures byUser byAddress with
        | Login.Refused(outcome, answer) ->
            metrics.Login(attempt, outcome)
            metrics.Limited Limit.Login
            send answer
            state
        | Login.Admitted ->
            match Login.verdict (check ()) with
            | Login.ClaimName -> claim attempt user welcome token state
            | Login.RecordFailure(outcome, answer) ->
                backend.RecordFailedLogin(user, peer)
                metrics.Login(attempt, outcome)
                ctx.Log.Info(failure, [ "user", box (Username.value user); "peer", box peer ])
                send answer
                state

    // LOGIN <user> <password>
    // An unknown user costs a bcrypt check too, so that it takes as long as a wrong password.
    let authenticate user password state =
        let check () =
            match backend.PasswordHash user with
            | Some hash when ctx.Passwords.Verify(hash, password) -> Login.Matches
            | Some _ -> Login.WrongPassword
            | None ->
                ctx.Passwords.VerifyNobody password |> ignore
                Login.UnknownUser

        logIn LoginCommand.Login user (LoggedIn(user, RoomName.lobby)) None check "login failed" state

    // RESUME <user> <token>
    // A token that is unknown, expired, revoked or another user's is one lookup and one answer,
    // like a wrong password.
    let resume user token state =
        let check () =
            if backend.TokenValid(user, Tokens.hash token) then
                Login.Matches
            else
                Login.WrongPassword

        logIn LoginCommand.Resume user (Resumed(user, RoomName.lobby)) (Some token) check "resume failed" state

    // REGISTER <user> <password>
    // Counted per address when an account is created (so across instances, with Redis); checked
    // before bcrypt, so a refusal costs no hashing.
    let register user password state =
        match Admission.register ctx.RegisterRate (backend.Registrations peer) with
        | Some refusal ->
            metrics.Limited Limit.Register
            ctx.Log.Info("register refused: rate limit", [ "user", box (Username.value user); "peer", box peer ])
            send refusal
            state
        | None ->
            if backend.CreateAccount(user, ctx.Passwords.Hash password) then
                // A count Redis could not take must not undo the account: the limit is a brake.
                try
                    backend.RecordRegistration peer
                with BackendUnavailable reason ->
                    ctx.Log.Warn("registration not counted", [ "reason", box reason; "peer", box peer ])

                ctx.Log.Info("registered", [ "user", box (Username.value user); "peer", box peer ])
                claim LoginCommand.Register user (Registered(user, RoomName.lobby)) None state
            else
                metrics.Login(LoginCommand.Register, LoginOutcome.UserExists)
                fail UserExists $"{Username.value user} is taken; choose another name or LOGIN"
                state

    let history room (entries: HistoryEntry list) =
        for e in entries do
            send (Hist(room, e.Id, e.From, e.UnixMs, e.Text))

        reply (HistoryDone entries.Length)

    let query =
        function
        | ListRooms -> reply (RoomList(backend.Rooms()))
        | ListWho room -> reply (WhoList(room, backend.Members room))
        | ListUsers -> reply (UserList(backend.Online()))
        | ListSubs user -> reply (SubList(backend.Subscriptions user))
        | ShowHistory(room, count) -> history room (backend.History(room, count))
        | ShowHistoryAfter(room, after, count) -> history room (backend.HistoryAfter(room, after, count))
        | ShowHistoryBefore(room, before, count) -> history room (backend.HistoryBefore(room, before, count))

    let step (state: Session) (effect: Effect) : Session =
        match effect with
        | Reply msg ->
            match msg with
            | Err(RateLimited, _) -> metrics.Limited Limit.Message
            | _ -> ()

            send msg
            state
        | Authenticate(user, password) -> authenticate user password state
        | CreateAccount(user, password) -> register user password state
        | Effect.Resume(user, token) -> resume user token state
        // /token: a fresh secret; shared state keeps its hash only.
        | IssueToken user ->
            let token = Tokens.fresh ()
            backend.StoreToken(user, Tokens.hash token, ctx.TokenTtl)
            reply (TokenIssued token)
            Session.evolve state (TokenHeld token)
        // Part of /quit: the connection closes whatever Redis says, and the revocation is retried.
        | RevokeToken(user, token) ->
            followUp $"revoke a token of {Username.value user}" (fun () -> backend.RevokeToken(user, Tokens.hash token))

            state
        // /msg <user> <text>
        | SendDirect(from, recipient, text) ->
            if backend.UserExists recipient then
                let id = backend.SendDirect(from, recipient, text, ctx.Now())
                reply (DirectSent(id, recipient))
            else
                fail NoSuchUser $"{Username.value recipient} has no account"

            state
        // <text>: the MSG line comes back to the sender through the room's stream, in the room's order.
        | SayInRoom(room, user, text) ->
            metrics.RoomMessageIn()
            let sent = pipeline.Say(room, user, text, ctx.Now())

            if not sent.IsCompletedSuccessfully then
                // Only a failure has anything to do: no work is scheduled for a message that went out.
                sent.ContinueWith(
                    (fun (t: Task<MsgId>) ->
                        // On the library's thread, in a task nobody awaits: nothing may escape.
                        try
                            match t.Exception.InnerException with
                            | BackendUnavailable reason ->
                                ctx.Log.Warn("message not sent", [ "reason", box reason; "peer", box peer ])
                                fail Unavailable "shared state is unreachable; your message was not sent"
                            | OutcomeUnknown reason ->
                                ctx.Log.Warn("message outcome unknown", [ "reason", box reason; "peer", box peer ])

                                fail Unavailable maybeSent
                            | e -> ctx.Log.Error("message not sent", [ "error", box e; "peer", box peer ])
                        with e ->
                            ctx.Log.Error("message failure not reported", [ "error", box e; "peer", box peer ])),
                    TaskContinuationOptions.OnlyOnFaulted
                    ||| TaskContinuationOptions.ExecuteSynchronously
                )
                |> ignore

            state
        // /publish <text>
        | PublishText(user, text) ->
            metrics.PublicationIn()
            let id, n = backend.Publish(user, text)
            reply (Published(id, n))
            state
        // /join <room>, /leave
        | MoveRoom(user, from, into, success) ->
            match Login.moved into success (backend.Move(user, sid, from, into)) with
            | Login.Moved(answer, event) ->
                ctx.Router.Intend(sid, into)
                send answer
                Session.evolve state event
            | Login.Fenced answer ->
                send answer
                state
        | Ask q ->
            query q
            state
        // /subscribe <user>
        | Follow(follower, target) ->
            if backend.UserExists target then
                backend.Subscribe(follower, target)
                reply (Subscribed target)
            else
                fail NoSuchUser $"{Username.value target} has no account"

            state
        // /unsubscribe <user>
        | Unfollow(follower, target) ->
            backend.Unsubscribe(follower, target)
            reply (Unsubscribed target)
            state
        | CloseConnection ->
            closing <- true
            outbox.Close()
            state

    /// The session asked to end (`/quit`); read no further lines.
    member _.Closing = closing

    /// Runs the effects of one command. Shared state failing stops the command with
    /// `ERR UNAVAILABLE`; effects already carried out stay done.
    member _.Run(state: Session, effects: Effect list) : Session =
        let rec go state effects =
            match effects with
            | [] -> state
            | effect :: rest ->
                match
                    (try
                        // Whatever else this connection asks of shared state follows its messages.
                        match effect with
                        | SayInRoom _ -> ()
                        | _ -> pipeline.Flush()

                        Choice1Of2(step state effect)
                     with
                     | BackendUnavailable reason -> Choice2Of2(reason, unavailable)
                     | OutcomeUnknown reason -> Choice2Of2(reason, maybeSent))
                with
                | Choice1Of2 next -> go next rest
                | Choice2Of2(reason, answer) ->
                    match effect with
                    | Authenticate _ -> metrics.Login(LoginCommand.Login, LoginOutcome.Unavailable)
                    | CreateAccount _ -> metrics.Login(LoginCommand.Register, LoginOutcome.Unavailable)
                    | Effect.Resume _ -> metrics.Login(LoginCommand.Resume, LoginOutcome.Unavailable)
                    | _ -> ()

                    ctx.Log.Warn("shared state unavailable", [ "reason", box reason; "peer", box peer ])
                    fail Unavailable answer
                    state

        go state effects

    /// Writes the messages the pipeline holds: the connection has no complete line waiting.
    member _.Flush() = pipeline.Flush()

    /// Ends the session in shared state (fenced: a newer session of the same user is left alone).
    member _.Release(state: Session) =
        // What the connection said last goes out before it leaves; failing to must not keep its
        // session from being released.
        try
            pipeline.Flush()
        with e ->
            ctx.Log.Error("messages held for one write were not sent", [ "error", box e; "peer", box peer ])

        match state with
        | Active a ->
            let release () =
                backend.Release(a.User, sid, a.Room) |> ignore

            ctx.Router.Detach sid

            try
                release ()
            with BackendUnavailable _ ->
                ctx.Retries.Add($"release {Username.value a.User} {SessionId.value sid}", release)

            ctx.Log.Info("logout", [ "user", box (Username.value a.User); "peer", box peer ])
        | Anonymous
        | Ended -> ctx.Router.Detach sid
