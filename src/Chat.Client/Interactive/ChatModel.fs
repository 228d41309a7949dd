/// The interactive client's state, the events that change it and the effects it asks for. No terminal types:
/// the shell translates its keys into `Key` and carries out the effects.
module Chat.Client.ChatModel

open System
open Chat.Domain
open Chat.Client.Conversation

type Key =
    /// Printable text: one character, or a paste.
    | Text of string
    | Enter
    | Backspace
    | Delete
    | Left
    | Right
    | Home
    | End
    | Up
    | Down
    | Tab
    | PageUp
    | PageDown
    /// Ctrl-U, Ctrl-K, Ctrl-W.
    | KillToStart
    | KillToEnd
    | KillWord
    /// Ctrl-N and Ctrl-P: the next and previous conversation.
    | NextView
    | PrevView
    /// Ctrl-C.
    | Interrupt

/// The connection, as the status line tells it.
type Link =
    | Connecting
    /// Logged in (or, without --user, connected) and caught up.
    | Connected
    | Reconnecting of reason: string * untilMs: int64 * attempt: int

type Event =
    /// A server line the session shows, and the local time it arrived.
    | Line of raw: string * nowMs: int64
    /// A status line of the session (caught up, token refused, ...).
    | Note of text: string * nowMs: int64
    | Pressed of Key
    /// The session is ready in this room (after a login or a reconnect and its catch-up).
    | Ready of room: RoomName
    /// Connected without --user: the user logs in by typing LOGIN.
    | Opened
    | Retrying of reason: string * wait: TimeSpan * attempt: int * nowMs: int64
    | Tick of nowMs: int64
    | Resized of width: int * height: int

type Effect =
    | Send of line: string
    /// Send /quit, wait for the server to close, restore the terminal and exit.
    | Quit

/// What the status line says about the server.
type Server = {
    Address: string
    /// "TLS 1.3".
    Protocol: string
    /// "CA certs/ca.pem", "pin", "system trust store".
    VerifiedBy: string
}

type Model = {
    Server: Server
    Link: Link
    NowMs: int64
    Me: Username option
    /// The room the session is in: the only one whose messages arrive.
    Room: RoomName
    View: Target
    /// In the order they were opened.
    Conversations: Conversation list
    Members: Username list
    /// From `/rooms`, with member counts.
    Rooms: (RoomName * int) list
    /// Senders and partners seen, for completion.
    Users: Set<string>
    Input: LineEditor.Editor
    History: InputHistory.History
    Cycle: Completion.Cycle option
    /// Replies asked for by the client itself, consumed without a line.
    QuietWho: int
    QuietRooms: int
    /// Direct messages sent and not yet acknowledged (OK MSG), oldest first.
    Outgoing: (Username * string) list
    Width: int
    Height: int
    Colour: bool
    Ascii: bool
    Zone: TimeZoneInfo
}

let initial (server: Server) (me: Username option) (colour: bool) (ascii: bool) (zone: TimeZoneInfo) = {
    Server = server
    Link = Connecting
    NowMs = 0L
    Me = me
    Room = RoomName.lobby
    View = Room RoomName.lobby
    Conversations = [ create (Room RoomName.lobby) ]
    Members = []
    Rooms = []
    Users = Set.empty
    Input = LineEditor.empty
    History = InputHistory.empty
    Cycle = None
    QuietWho = 0
    QuietRooms = 0
    Outgoing = []
    Width = 80
    Height = 24
    Colour = colour
    Ascii = ascii
    Zone = zone
}
