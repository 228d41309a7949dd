namespace Chat.Domain

/// Reads of shared state whose answer becomes one reply.
type Query =
    | ListRooms
    | ListWho of RoomName
    | ListUsers
    | ListSubs of Username
    | ShowHistory of RoomName * count: int
    /// The first `count` messages later than the id, oldest first.
    | ShowHistoryAfter of RoomName * MsgId * count: int
    /// The last `count` messages earlier than the id, oldest first.
    | ShowHistoryBefore of RoomName * MsgId * count: int

/// What a decision asks the shell to do, as data; the shell's interpreter carries it out in order.
type Effect =
    /// Send one line to this client.
    | Reply of ServerMsg
    /// Check the password (rate limits first), claim the session, then `LoggedInAs`.
    | Authenticate of Username * Password
    /// Create the account unless it exists, then log in as with `Authenticate`.
    | CreateAccount of Username * Password
    /// Like `Authenticate` (the same failure limits), with the token for the password; the welcome
    /// is `OK RESUME`, and `LoggedInAs` carries the token.
    | Resume of Username * ResumeToken
    /// Make a fresh token, store only its hash, reply `OK TOKEN`, then `TokenHeld`.
    | IssueToken of Username
    /// The token no longer logs anyone in.
    | RevokeToken of Username * ResumeToken
    /// Record in the room's history and deliver to its members.
    | SayInRoom of RoomName * Username * text: string
    /// Deliver to the publisher's online subscribers; reply `OK PUBLISH`.
    | PublishText of Username * text: string
    /// `to'` must be a known user, else `ERR NO_SUCH_USER`; deliver (or keep while offline) and
    /// reply `OK MSG`.
    | SendDirect of from: Username * to': Username * text: string
    /// Change room in shared state, then `MovedTo` and the given reply.
    | MoveRoom of Username * from: RoomName * into: RoomName * reply: OkReply
    | Ask of Query
    /// `target` must be a known user, else `ERR NO_SUCH_USER`.
    | Follow of follower: Username * target: Username
    | Unfollow of follower: Username * target: Username
    /// Close the connection once the replies before it are sent.
    | CloseConnection
