/// Server lines back into typed messages: what the client and the tests read.
module Chat.Domain.ServerLine

open System

let private invariant = Globalization.CultureInfo.InvariantCulture

/// Splits into at most `n` parts on single spaces; the last part keeps its spaces.
let private parts (n: int) (s: string) = s.Split(' ', n)

let private words (s: string) = if s = "" then [||] else s.Split(' ')

let private allOf (f: string -> 'a option) (ws: string array) =
    let xs = ws |> Array.map f

    if xs |> Array.forall Option.isSome then
        Some(xs |> Array.map Option.get |> List.ofArray)
    else
        None

let private int64Of (s: string) =
    match Int64.TryParse(s, Globalization.NumberStyles.AllowLeadingSign, invariant) with
    | true, n -> Some n
    | _ -> None

let private intOf s = int64Of s |> Option.map int

let private roomCount (s: string) =
    match s.LastIndexOf ':' with
    | -1 -> None
    | i ->
        match RoomName.tryCreate (s.Substring(0, i)), intOf (s.Substring(i + 1)) with
        | Some r, Some n -> Some(r, n)
        | _ -> None

let private parseOk (rest: string) : OkReply option =
    let verb, args =
        match rest.IndexOf ' ' with
        | -1 -> rest, ""
        | i -> rest.Substring(0, i), rest.Substring(i + 1)

    let user = Username.tryCreate
    let room = RoomName.tryCreate

    match verb, words args with
    | "LOGIN", [| u; r |] -> Option.map2 (fun u r -> LoggedIn(u, r)) (user u) (room r)
    | "REGISTER", [| u; r |] -> Option.map2 (fun u r -> Registered(u, r)) (user u) (room r)
    | "RESUME", [| u; r |] -> Option.map2 (fun u r -> Resumed(u, r)) (user u) (room r)
    | "TOKEN", [| t |] -> ResumeToken.tryCreate t |> Option.map TokenIssued
    | "MSG", [| id; u |] -> Option.map2 (fun id u -> DirectSent(id, u)) (MsgId.tryCreate id) (user u)
    | "JOIN", [| r |] -> room r |> Option.map Joined
    | "LEAVE", [| r |] -> room r |> Option.map Left
    | "ROOMS", ws -> allOf roomCount ws |> Option.map RoomList
    | "WHO", ws when ws.Length >= 1 -> Option.map2 (fun r us -> WhoList(r, us)) (room ws[0]) (allOf user ws[1..])
    | "USERS", ws -> allOf user ws |> Option.map UserList
    | "SUBSCRIBE", [| u |] -> user u |> Option.map Subscribed
    | "UNSUBSCRIBE", [| u |] -> user u |> Option.map Unsubscribed
    | "SUBS", ws -> allOf user ws |> Option.map SubList
    | "PUBLISH", [| id; n |] -> Option.map2 (fun id n -> Published(id, n)) (MsgId.tryCreate id) (intOf n)
    | "HISTORY", [| n |] -> intOf n |> Option.map HistoryDone
    | "PONG", [||] -> Some(Pong None)
    | "PONG", _ -> Some(Pong(Some args))
    | "HELP", [||] -> Some HelpDone
    | "QUIT", [||] -> Some QuitDone
    | _ -> None

let private parseSys (rest: string) : SysEvent option =
    match parts 2 rest with
    | [| "JOIN"; args |] ->
        match words args with
        | [| r; u |] -> Option.map2 (fun r u -> UserJoined(r, u)) (RoomName.tryCreate r) (Username.tryCreate u)
        | _ -> None
    | [| "LEAVE"; args |] ->
        match words args with
        | [| r; u |] -> Option.map2 (fun r u -> UserLeft(r, u)) (RoomName.tryCreate r) (Username.tryCreate u)
        | _ -> None
    | [| "FORCED_LOGOUT"; t |] -> Some(ForcedLogout t)
    | [| "SHUTDOWN"; t |] -> Some(Shutdown t)
    | _ -> None

/// Parses one server line (no terminator); None when it is not a chat/1 server line.
let parse (line: string) : ServerMsg option =
    match parts 2 line with
    | [| "HELLO"; rest |] ->
        match parts 3 rest with
        | [| "chat/1"; id; t |] -> Some(Hello(id, t))
        | _ -> None
    | [| "INFO"; t |] -> Some(Info t)
    | [| "OK"; rest |] -> parseOk rest |> Option.map Ok
    | [| "ERR"; rest |] ->
        match parts 2 rest with
        | [| code; t |] -> ErrorCode.tryParse code |> Option.map (fun c -> Err(c, t))
        | _ -> None
    | [| "MSG"; rest |] ->
        match parts 4 rest with
        | [| r; id; u; t |] ->
            match RoomName.tryCreate r, MsgId.tryCreate id, Username.tryCreate u with
            | Some r, Some id, Some u -> Some(Msg(r, id, u, t))
            | _ -> None
        | _ -> None
    | [| "PUB"; rest |] ->
        match parts 3 rest with
        | [| id; u; t |] -> Option.map2 (fun id u -> Pub(id, u, t)) (MsgId.tryCreate id) (Username.tryCreate u)
        | _ -> None
    | [| "DM"; rest |] ->
        match parts 3 rest with
        | [| id; u; t |] -> Option.map2 (fun id u -> Dm(id, u, t)) (MsgId.tryCreate id) (Username.tryCreate u)
        | _ -> None
    | [| "HIST"; rest |] ->
        match parts 5 rest with
        | [| r; id; u; ms; t |] ->
            match RoomName.tryCreate r, MsgId.tryCreate id, Username.tryCreate u, int64Of ms with
            | Some r, Some id, Some u, Some ms -> Some(Hist(r, id, u, ms, t))
            | _ -> None
        | _ -> None
    | [| "SYS"; rest |] -> parseSys rest |> Option.map Sys
    | _ -> None
