/// chat/1 on the wire: client lines into typed commands, typed server messages into lines and back.
/// This is the only place that splits protocol text.
module Chat.Domain.Protocol

open System

/// The first space-delimited word and the rest, with the spaces between them skipped.
let private splitWord (s: string) =
    match s.IndexOf ' ' with
    | -1 -> s, ""
    | i -> s.Substring(0, i), s.Substring(i + 1).TrimStart(' ')

/// Exactly one word, or None.
let private singleWord (s: string) =
    let s = s.Trim(' ')
    if s.Length = 0 || s.Contains ' ' then None else Some s

let private credentials verb (args: string) =
    let name, password = splitWord args

    match Username.tryCreate name, Password.tryCreate password with
    | _ when name = "" -> Error(BadArgument(verb, "missing username and password"))
    | None, _ -> Error(BadArgument(verb, "invalid username (letters, digits, _ . -; at most 32)"))
    | Some _, Error Empty -> Error(BadArgument(verb, "missing password"))
    | Some _, Error(TooLong n) -> Error(BadArgument(verb, $"password is {n} bytes; at most {Password.MaxBytes}"))
    | Some user, Result.Ok pw -> Result.Ok(user, pw)

let private oneName verb (create: string -> 'a option) what (args: string) =
    match singleWord args with
    | None -> Error(BadArgument(verb, $"usage: {Verb.usage verb}"))
    | Some w ->
        match create w with
        | Some name -> Result.Ok name
        | None -> Error(BadArgument(verb, $"invalid {what} name: {w}"))

/// Largest `/history` count; larger requests are served this many.
[<Literal>]
let MaxHistory = 100

[<Literal>]
let DefaultHistory = 20

/// A count of 1 to MaxHistory: digits only; a number too large for an int is still a (large)
/// request, served MaxHistory.
let private historyCount (s: string) =
    match s |> String.forall Char.IsAsciiDigit, s.TrimStart '0' with
    | true, digits when digits.Length > 0 ->
        Some(
            if digits.Length > 9 then
                MaxHistory
            else
                min (int digits) MaxHistory
        )
    | _ -> None

// /history [n] | /history after <id> [n] | /history before <id> [n]
let private history (args: string) =
    let bad detail = Error(BadArgument(VHistory, detail))

    let page direction (query: MsgId * int -> Command) (rest: string) =
        let idText, countText = splitWord rest
        // The id in its canonical spelling: the shell compares ids by order, never by text.
        match StreamPos.tryParse idText |> Option.bind (StreamPos.render >> MsgId.tryCreate), countText with
        | None, _ -> bad $"usage: /history {direction} <id> [n], id a message id <ms>-<seq>"
        | Some id, "" -> Result.Ok(query (id, DefaultHistory))
        | Some id, c ->
            match historyCount c with
            | Some n -> Result.Ok(query (id, n))
            | None -> bad $"usage: /history {direction} <id> [n], n a positive whole number"

    match args.Trim(' ') with
    | "" -> Result.Ok(History DefaultHistory)
    | s ->
        match splitWord s with
        | word, rest when word.ToLowerInvariant() = "after" -> page "after" HistoryAfter rest
        | word, rest when word.ToLowerInvariant() = "before" -> page "before" HistoryBefore rest
        | _ ->
            match historyCount s with
            | Some n -> Result.Ok(History n)
            | None -> bad "usage: /history [n], n a positive whole number"

// RESUME <user> <token>. The token is a secret: no answer repeats it.
let private resume (args: string) =
    let bad detail = Error(BadArgument(VResume, detail))
    let name, token = splitWord args

    match Username.tryCreate name, singleWord token |> Option.bind ResumeToken.tryCreate with
    | _ when name = "" -> bad "missing username and token"
    | None, _ -> bad "invalid username (letters, digits, _ . -; at most 32)"
    | Some _, None when LineText.isBlank token -> bad "missing token"
    | Some _, None -> bad "invalid token (16 to 256 characters of A-Z a-z 0-9 _ -)"
    | Some user, Some t -> Result.Ok(Command.Resume(user, t))

// /msg <user> <text>: the text is checked as a room message's is.
let private direct (args: string) =
    let bad detail = Error(BadArgument(VMsg, detail))
    let name, text = splitWord args

    match Username.tryCreate name with
    | _ when name = "" || LineText.isBlank text -> bad $"usage: {Verb.usage VMsg}"
    | None -> bad $"invalid user name: {name}"
    | Some _ when LineText.hasForbidden text -> bad "control characters are not allowed; nothing was delivered"
    | Some user -> Result.Ok(Direct(user, text))

let private slashCommand (word: string) (args: string) : Result<Command, ParseError> =
    match word.ToLowerInvariant() with
    | "join" -> oneName VJoin RoomName.tryCreate "room" args |> Result.map Join
    | "leave" -> Result.Ok Leave
    | "rooms" -> Result.Ok Rooms
    | "who" -> Result.Ok Who
    | "users" -> Result.Ok Users
    | "subscribe" -> oneName VSubscribe Username.tryCreate "user" args |> Result.map Subscribe
    | "unsubscribe" -> oneName VUnsubscribe Username.tryCreate "user" args |> Result.map Unsubscribe
    | "subs" -> Result.Ok Subs
    | "publish" when String.IsNullOrWhiteSpace args -> Error(BadArgument(VPublish, "usage: /publish <text>"))
    | "publish" -> Result.Ok(Publish args)
    | "history" -> history args
    | "msg" -> direct args
    | "token" when LineText.isBlank args -> Result.Ok Token
    | "token" -> Error(BadArgument(VToken, $"usage: {Verb.usage VToken}"))
    | "ping" ->
        Result.Ok(
            Ping(
                if String.IsNullOrWhiteSpace args then
                    None
                else
                    Some(args.Trim(' '))
            )
        )
    | "help" -> Result.Ok Help
    | "quit" -> Result.Ok Quit
    | _ -> Error(UnknownCommand("/" + word))

/// Parses one line (already decoded, terminator and `\r` removed, free of control characters).
/// None for a blank line, which is ignored.
let parse (line: string) : Result<Command, ParseError> option =
    if LineText.isBlank line then
        None
    elif line.StartsWith("//", StringComparison.Ordinal) then
        Some(Result.Ok(Say(line.Substring 1)))
    elif line.StartsWith '/' then
        let word, args = splitWord (line.Substring 1)
        Some(slashCommand word args)
    else
        match splitWord line with
        | "LOGIN", args -> Some(credentials VLogin args |> Result.map Login)
        | "REGISTER", args -> Some(credentials VRegister args |> Result.map Register)
        | "RESUME", args -> Some(resume args)
        | _ -> Some(Result.Ok(Say line))

let private names f xs =
    xs |> List.map f |> List.sortWith (fun a b -> String.CompareOrdinal(a, b))

let private withTail (head: string) (items: string list) =
    match items with
    | [] -> head
    | _ -> head + " " + String.Join(' ', items)

/// Words joined by single spaces: the lines every member of a room receives are built without
/// the formatting machinery of interpolated strings.
let private words (ws: string array) = String.Join(' ', ws)

let private renderOk =
    function
    | LoggedIn(u, r) -> $"LOGIN {Username.value u} {RoomName.value r}"
    | Registered(u, r) -> $"REGISTER {Username.value u} {RoomName.value r}"
    | Joined r -> $"JOIN {RoomName.value r}"
    | Left r -> $"LEAVE {RoomName.value r}"
    | RoomList rooms ->
        rooms
        |> List.map (fun (r, n) -> $"{RoomName.value r}:{n}")
        |> List.sortWith (fun a b ->
            String.CompareOrdinal(a.Substring(0, a.IndexOf ':'), b.Substring(0, b.IndexOf ':')))
        |> withTail "ROOMS"
    | WhoList(r, us) -> names Username.value us |> withTail $"WHO {RoomName.value r}"
    | UserList us -> names Username.value us |> withTail "USERS"
    | Subscribed u -> $"SUBSCRIBE {Username.value u}"
    | Unsubscribed u -> $"UNSUBSCRIBE {Username.value u}"
    | SubList us -> names Username.value us |> withTail "SUBS"
    | Published(id, n) -> $"PUBLISH {MsgId.value id} {n}"
    | HistoryDone n -> $"HISTORY {n}"
    | Resumed(u, r) -> $"RESUME {Username.value u} {RoomName.value r}"
    | TokenIssued t -> "TOKEN " + ResumeToken.value t
    | DirectSent(id, u) -> $"MSG {MsgId.value id} {Username.value u}"
    | Pong None -> "PONG"
    | Pong(Some t) -> $"PONG {t}"
    | HelpDone -> "HELP"
    | QuitDone -> "QUIT"

let private renderSys =
    function
    | UserJoined(r, u) -> words [| "JOIN"; RoomName.value r; Username.value u |]
    | UserLeft(r, u) -> words [| "LEAVE"; RoomName.value r; Username.value u |]
    | ForcedLogout t -> $"FORCED_LOGOUT {t}"
    | Shutdown t -> $"SHUTDOWN {t}"

/// One server line, without its `\n`.
let render (msg: ServerMsg) : string =
    match msg with
    | Hello(id, t) -> $"HELLO chat/1 {id} {t}"
    | Info t -> $"INFO {t}"
    | Ok ok -> "OK " + renderOk ok
    | Err(code, t) -> $"ERR {ErrorCode.wire code} {t}"
    | Msg(r, id, u, t) -> words [| "MSG"; RoomName.value r; MsgId.value id; Username.value u; t |]
    | Pub(id, u, t) -> words [| "PUB"; MsgId.value id; Username.value u; t |]
    | Dm(id, u, t) -> words [| "DM"; MsgId.value id; Username.value u; t |]
    | Hist(r, id, u, ms, t) -> $"HIST {RoomName.value r} {MsgId.value id} {Username.value u} {ms} {t}"
    | Sys e -> "SYS " + renderSys e
