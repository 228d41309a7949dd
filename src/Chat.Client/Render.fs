/// Server lines as the user sees them. Pure, so every case can be tested without a terminal or a server.
module Chat.Client.Render

open System
open System.Globalization
open Chat.Domain

type Mode =
    /// The protocol line itself, for scripts and for debugging the server.
    | Raw
    /// For people at a terminal.
    | Readable

/// Removes control characters (TAB excepted, it cannot drive a terminal). The server already refuses them in
/// messages; this holds even against a server that does not.
let sanitize (s: string) =
    let keep (c: char) = c = '\t' || not (Char.IsControl c)

    if s |> Seq.forall keep then
        s
    else
        String(s |> Seq.filter keep |> Array.ofSeq)

let private room r = "#" + RoomName.value r
let private user = Username.value

let private users =
    function
    | [] -> "(none)"
    | us -> us |> List.map user |> String.concat ", "

let private plural n (one: string) =
    if n = 1 then $"1 {one}" else $"{n} {one}s"

let private ok =
    function
    | LoggedIn(u, r) -> Some $"* logged in as {user u}, in {room r}"
    | Registered(u, r) -> Some $"* registered and logged in as {user u}, in {room r}"
    | Resumed(u, r) -> Some $"* logged in again as {user u}, in {room r}"
    // The token is a secret: it is kept, never shown.
    | TokenIssued _ -> Some "* token issued (kept by the client)"
    | DirectSent(_, u) -> Some $"* sent to {user u}"
    | Joined r -> Some $"* you are in {room r}"
    | Left r when r = RoomName.lobby -> Some $"* you are in {room r}"
    | Left r -> Some $"* you left {room r}, back in {room RoomName.lobby}"
    | RoomList [] -> Some "rooms: (none)"
    | RoomList rs ->
        let one (r, n) = $"{RoomName.value r} ({n})"
        Some("rooms: " + (rs |> List.map one |> String.concat ", "))
    | WhoList(r, us) -> Some $"in {room r}: {users us}"
    | UserList us -> Some $"online: {users us}"
    | Subscribed u -> Some $"* subscribed to {user u}"
    | Unsubscribed u -> Some $"* unsubscribed from {user u}"
    | SubList us -> Some $"following: {users us}"
    | Published(_, n) -> Some("* published to " + plural n "online subscriber")
    | HistoryDone 0 -> Some "* no history in this room"
    | HistoryDone n -> Some("* end of history (" + plural n "message" + ")")
    | Pong None -> Some "pong"
    | Pong(Some token) -> Some $"pong {token}"
    // The INFO lines before it are the help; a closing line would only add noise.
    | HelpDone -> None
    | QuitDone -> Some "* bye"

/// `HH:mm:ss` in the given zone; a time outside the calendar is shown as the number the server sent.
let clock (zone: TimeZoneInfo) (unixMs: int64) =
    try
        let t =
            TimeZoneInfo.ConvertTime(DateTimeOffset.FromUnixTimeMilliseconds unixMs, zone)

        t.ToString("HH:mm:ss", CultureInfo.InvariantCulture)
    with :? ArgumentOutOfRangeException ->
        string unixMs

/// A parsed message as shown at a terminal; None when there is nothing worth a line.
let message (zone: TimeZoneInfo) (msg: ServerMsg) : string option =
    match msg with
    | Hello(serverId, text) -> Some $"* connected to {serverId}: {text}"
    | Info text -> Some text
    | Ok reply -> ok reply
    | Err(code, text) -> Some $"! {ErrorCode.wire code}: {text}"
    | Msg(r, _, from, text) -> Some $"[{RoomName.value r}] {user from}: {text}"
    | Pub(_, from, text) -> Some $"[pub] {user from}: {text}"
    | Dm(_, from, text) -> Some $"[dm] {user from}: {text}"
    | Hist(r, _, from, ms, text) -> Some $"[{RoomName.value r} {clock zone ms}] {user from}: {text}"
    | Sys(UserJoined(r, u)) -> Some $"* {user u} joined {room r}"
    | Sys(UserLeft(r, u)) -> Some $"* {user u} left {room r}"
    | Sys(ForcedLogout text) -> Some $"* you were logged out: {text}"
    | Sys(Shutdown text) -> Some $"* the server is shutting down: {text}"

/// `OK TOKEN <t>` without its token, in either mode and even when malformed: a token logs in
/// without the password, and a terminal, a scrollback or a script's log is no place for it.
let private withoutSecret (raw: string) =
    if raw.StartsWith("OK TOKEN", StringComparison.Ordinal) then
        "OK TOKEN (hidden)"
    else
        raw

/// One received line as printed; lines that do not parse are shown as they came, since hiding them would hide
/// exactly what someone debugging needs to see.
let line (zone: TimeZoneInfo) (mode: Mode) (raw: string) : string option =
    let shown =
        match mode with
        | Raw -> Some(withoutSecret raw)
        | Readable ->
            match ServerLine.parse raw with
            | Some msg -> message zone msg
            | None -> Some(withoutSecret raw)

    shown |> Option.map sanitize
