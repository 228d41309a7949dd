namespace Chat.Domain

/// A logged-in connection: who it is, where it is, how much it may still say.
type ActiveSession = {
    User: Username
    Room: RoomName
    Bucket: TokenBucket
}

/// The life of one connection: connected, then logged in, then ended.
type Session =
    | Anonymous
    | Active of ActiveSession
    | Ended

/// What the shell learned by carrying out an effect, folded back into the session.
type SessionEvent =
    | LoggedInAs of Username * bucket: TokenBucket
    | MovedTo of RoomName
    | Closed

module Session =
    let initial = Anonymous

    /// Total: an event that does not apply to the state leaves it as it is.
    let evolve (state: Session) (event: SessionEvent) : Session =
        match state, event with
        | _, Closed -> Ended
        | Anonymous, LoggedInAs(user, bucket) ->
            Active {
                User = user
                Room = RoomName.lobby
                Bucket = bucket
            }
        | Active a, MovedTo room -> Active { a with Room = room }
        | _ -> state

    let fold = List.fold evolve
