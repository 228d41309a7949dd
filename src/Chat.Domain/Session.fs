namespace Chat.Domain

/// A logged-in connection: who it is, where it is, how much it may still say.
type ActiveSession = {
    User: Username
    Room: RoomName
    Bucket: TokenBucket
    /// The session's resume token once `/token` issued it or `RESUME` logged in with it.
    Token: ResumeToken option
}

/// The life of one connection: connected, then logged in, then ended.
type Session =
    | Anonymous
    | Active of ActiveSession
    | Ended

/// What the shell learned by carrying out an effect, folded back into the session.
type SessionEvent =
    /// `token`: the one a `RESUME` logged in with; None for LOGIN and REGISTER.
    | LoggedInAs of Username * bucket: TokenBucket * token: ResumeToken option
    /// `/token` issued this token to the session.
    | TokenHeld of ResumeToken
    | MovedTo of RoomName
    | Closed

module Session =
    let initial = Anonymous

    /// Total: an event that does not apply to the state leaves it as it is.
    let evolve (state: Session) (event: SessionEvent) : Session =
        match state, event with
        | _, Closed -> Ended
        | Anonymous, LoggedInAs(user, bucket, token) ->
            Active {
                User = user
                Room = RoomName.lobby
                Bucket = bucket
                Token = token
            }
        | Active a, TokenHeld token -> Active { a with Token = Some token }
        | Active a, MovedTo room -> Active { a with Room = room }
        | _ -> state

    let fold = List.fold evolve
