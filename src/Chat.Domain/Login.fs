namespace Chat.Domain

/// What happens when a user logs in while a session of theirs exists (on any instance).
type DuplicateLoginPolicy =
    /// The earlier session is told and closed; the new login succeeds.
    | ForceLogout
    /// The new login gets `ERR DUPLICATE_LOGIN`; the earlier session is untouched.
    | Reject

/// The session a login took the name from: the server that holds it and the rooms it is in.
type Evicted = {
    Sid: SessionId
    Server: string
    Rooms: RoomName list
}

/// What shared state answers a session claiming its name.
type ClaimOutcome =
    /// The name is this session's now; `evicted` is the session it replaced. The session enters
    /// the lobby after.
    | Claimed of evicted: Evicted option
    /// Reject policy: another session holds the name.
    | AlreadyOnline

/// How a login attempt (LOGIN, REGISTER, RESUME) ended: the `outcome` label of
/// `chat_logins_total`. RESUME's failures (unknown, expired, revoked token) are `AuthFailed`.
[<RequireQualifiedAccess>]
type LoginOutcome =
    | Ok
    | AuthFailed
    | RateLimited
    | DuplicateRejected
    | UserExists
    | Unavailable

/// The rules of logging in and of keeping the name, given what the shell learned from shared state
/// (failure counts, the password check, the claim, the fenced move); the shell carries them out.
module Login =
    /// Whether a LOGIN may check its password.
    type Admission =
        | Admitted
        /// Past `--login-failures`: the outcome to count and the answer.
        | Refused of LoginOutcome * ServerMsg

    /// What checking the password found; an unknown user still cost the time of a check.
    type PasswordCheck =
        | Matches
        | WrongPassword
        | UnknownUser

    /// What the password check means.
    type Verdict =
        | ClaimName
        /// Record a failed login for the name and the address, count the outcome, answer.
        | RecordFailure of LoginOutcome * ServerMsg

    /// How claiming the name ended for this session: what shared state answered, then whether the
    /// session could attach here before a newer login took the name over.
    type Claim =
        /// Reject policy: another session holds the name (`AlreadyOnline`).
        | HeldElsewhere
        /// The name is this session's; the session it evicted.
        | Taken of evicted: Evicted option
        /// Claimed, but a newer login took the name over before this session attached.
        | Overtaken

    /// One thing the shell does for a claim, in the order given.
    type Step =
        /// Send this line to the client.
        | Answer of ServerMsg
        /// End the evicted session: its server closes it, it leaves its rooms. Taken again later
        /// if shared state cannot take it now: the claim stands.
        | Evict of Evicted
        /// Enter the lobby, where the welcome goes out with the entry; taken again later likewise.
        | Enter
        /// Wait for the welcome, held since the session attached, to go out with its entry.
        | AwaitWelcome
        /// The session is logged in, in the lobby: `LoggedInAs`, with a full message bucket.
        | Start
        /// Send this line last, then close the connection.
        | CloseWith of ServerMsg

    /// What a claim counts as, and what follows from it.
    type Decision = {
        Outcome: LoginOutcome
        Steps: Step list
    }

    /// The answer to a fenced room change.
    type Move =
        /// The session still owns its name: the reply, and the event to fold.
        | Moved of ServerMsg * SessionEvent
        /// A newer session took the name over, or this one expired: nothing changed.
        | Fenced of ServerMsg

    /// A LOGIN given the failures of the current windows, for this username and from this
    /// address: `limit` per name, 4 * `limit` per address; 0 means no limit. Checked before the
    /// password, so a refusal holds even with the right one.
    let admit (limit: int) (byUser: int) (byAddress: int) : Admission =
        if limit > 0 && (byUser >= limit || byAddress >= 4 * limit) then
            Refused(LoginOutcome.RateLimited, Err(RateLimited, "too many failed logins; wait a minute and try again"))
        else
            Admitted

    /// Unknown user and wrong password answer alike: the answer must not tell which names exist.
    let verdict (check: PasswordCheck) : Verdict =
        match check with
        | Matches -> ClaimName
        | WrongPassword
        | UnknownUser -> RecordFailure(LoginOutcome.AuthFailed, Err(AuthFailed, "unknown user or wrong password"))

    /// The claim of `user` by a session whose welcome is `welcome`.
    let claimed (user: Username) (welcome: OkReply) (claim: Claim) : Decision =
        match claim with
        | HeldElsewhere -> {
            Outcome = LoginOutcome.DuplicateRejected
            Steps = [
                Answer(
                    Err(
                        DuplicateLogin,
                        $"{Username.value user} is logged in elsewhere and this server rejects a second login"
                    )
                )
            ]
          }
        // The login did succeed, and the client hears so before it hears that it was taken over.
        | Overtaken -> {
            Outcome = LoginOutcome.Ok
            Steps = [ Answer(Ok welcome); CloseWith(Sys(ForcedLogout Routing.forcedLogoutText)) ]
          }
        | Taken evicted -> {
            Outcome = LoginOutcome.Ok
            Steps = [
                match evicted with
                | Some old -> Evict old
                | None -> ()
                Enter
                AwaitWelcome
                Start
            ]
          }

    /// A move into `into`, answered `success`, that shared state took (`owned`) or fenced off.
    let moved (into: RoomName) (success: OkReply) (owned: bool) : Move =
        if owned then
            Moved(Ok success, MovedTo into)
        else
            Fenced(Err(Unavailable, "this session was taken over or expired; log in again"))
