namespace Chat.Server

open System
open System.Threading.Tasks
open Chat.Domain

/// Shared state could not be reached; the command answers `ERR UNAVAILABLE` and nothing changed.
/// An exception, not a DU case: any call can hit it, and it is handled once, per command.
exception BackendUnavailable of reason: string

/// Shared state went away while a message (room, publication, direct) was on its way to it: it
/// may have been applied. The command answers `ERR UNAVAILABLE` and says the outcome is unknown.
exception OutcomeUnknown of reason: string

type HistoryEntry = {
    Id: MsgId
    From: Username
    UnixMs: int64
    Text: string
}

/// One connection's room messages, written to shared state together: `Say` as the port's, except
/// that a message may wait here until `Flush`. The connection flushes when it has no complete line
/// waiting and before anything else it asks of shared state, so its order holds; several lines
/// that came in one read then cost one write to Redis, not one each. Used from one thread.
type IMessagePipeline =
    abstract Say: RoomName * from: Username * text: string * unixMs: int64 -> Task<MsgId>
    abstract Flush: unit -> unit

/// The state port: everything instances share. Two adapters keep this contract:
/// `MemoryBackend` (one instance, no Redis) and `RedisBackend` (any number of instances).
/// Every method may raise `BackendUnavailable`.
type IChatBackend =
    inherit IDisposable

    /// The bcrypt hash of an account.
    abstract PasswordHash: Username -> string option
    /// Creates the account; false, and nothing changed, when it exists.
    abstract CreateAccount: Username * passwordHash: string -> bool
    abstract UserExists: Username -> bool

    /// Failed logins in the current one-minute windows: (for this username, from this address).
    abstract FailedLogins: Username * address: string -> int * int
    abstract RecordFailedLogin: Username * address: string -> unit

    /// Accounts created from this address in the current one-hour window.
    abstract Registrations: address: string -> int
    abstract RecordRegistration: address: string -> unit

    /// Atomically makes `sid` the user's one session, under the policy (the duplicate-login decision).
    abstract Claim: Username * SessionId * DuplicateLoginPolicy -> ClaimOutcome
    /// Ends a session a login replaced: its server is told to close it (`Kicked`), and it leaves
    /// its rooms (`Left`), fenced by its sid.
    abstract Evict: Username * Evicted -> unit
    /// The claimed session enters the lobby (`Entered`); from then on this instance receives the
    /// lobby's events and those of the publishers the user follows.
    abstract Enter: Username * SessionId -> unit
    /// Ends the session if it still owns the name (a fence: a late cleanup never removes a newer
    /// session), and takes it out of `room` (its room by its own account) in any case; Some room it
    /// was in when it owned the name.
    abstract Release: Username * SessionId * room: RoomName -> RoomName option
    /// Moves the session between rooms (`Left`, then `Entered`); false when it no longer owns the name.
    abstract Move: Username * SessionId * from: RoomName * into: RoomName -> bool
    /// Rooms with members, and how many.
    abstract Rooms: unit -> (RoomName * int) list
    abstract Members: RoomName -> Username list
    /// Users online on any instance.
    abstract Online: unit -> Username list

    abstract Subscribe: follower: Username * target: Username -> unit
    abstract Unsubscribe: follower: Username * target: Username -> unit
    abstract Subscriptions: follower: Username -> Username list

    /// Appends to the room's history and delivers `Said` to its members, as one step; the message
    /// id. Issued before it returns, in call order (so one sender's messages keep their order), and
    /// completed later: a sender need not wait for Redis between two messages. The task fails
    /// with `BackendUnavailable` when the message was not sent.
    abstract Say: RoomName * from: Username * text: string * unixMs: int64 -> Task<MsgId>
    /// A pipeline for one connection's messages (its thread's alone).
    abstract Pipeline: unit -> IMessagePipeline
    /// Delivers `Published` to the publisher's online subscribers; the id and how many they were.
    abstract Publish: from: Username * text: string -> MsgId * int
    /// The last `count` messages of the room, oldest first.
    abstract History: RoomName * count: int -> HistoryEntry list
    /// The room's messages later than `after`, oldest first, at most `count` (`/history after`).
    abstract HistoryAfter: RoomName * after: MsgId * count: int -> HistoryEntry list
    /// The room's messages earlier than `before`, oldest first, the last `count` of them.
    abstract HistoryBefore: RoomName * before: MsgId * count: int -> HistoryEntry list

    /// Keeps a resume token's SHA-256 (hex) for `ttl`: until then RESUME with the token logs the
    /// user in, on any instance.
    abstract StoreToken: Username * tokenHash: string * ttl: TimeSpan -> unit
    /// The token (by its hash) is the user's, and neither expired nor revoked.
    abstract TokenValid: Username * tokenHash: string -> bool
    abstract RevokeToken: Username * tokenHash: string -> unit

    /// A direct message: kept in the recipient's inbox (the last `--history`), and delivered as
    /// `Direct` to the recipient's session once its inbox is open; the message id.
    abstract SendDirect: from: Username * recipient: Username * text: string * unixMs: int64 -> MsgId
    /// Starts delivering the user's direct messages here (after its welcome): first those it has
    /// not been given (kept while it was offline), oldest first, then new ones as they come; each
    /// once. `Release` closes it.
    abstract OpenInbox: Username * SessionId -> unit

    /// Where events go: each stream's in its order, each once; set once, before the first login.
    abstract Listen: (BusEvent -> unit) -> unit
