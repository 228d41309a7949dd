/// What the user reads: every server line, readable (at a terminal) or raw (piped), never with
/// control characters.
module Chat.Client.Tests.RenderTests

open System
open FsCheck
open FsCheck.FSharp
open Microsoft.FSharp.Reflection
open Expecto
open Chat.Domain
open Chat.Client
open Chat.Tests.Cases

let private utc = TimeZoneInfo.Utc

/// A resume token as the server issues them: 43 characters of base64url.
let private secret = "q7Zx3fK9_wR2mN8vB4tY6uJ1hL5gP0sD-cE7aQ9iO3k"

/// Server lines and how they read at a terminal; one or more of every kind of server message.
let readable = [
    "HELLO chat/1 node-1 welcome; LOGIN <user> <password>", "* connected to node-1: welcome; LOGIN <user> <password>"
    "INFO   /join <room>", "  /join <room>"
    "OK LOGIN alice lobby", "* logged in as alice, in #lobby"
    "OK REGISTER dave lobby", "* registered and logged in as dave, in #lobby"
    "OK RESUME alice lobby", "* logged in again as alice, in #lobby"
    $"OK TOKEN {secret}", "* token issued (kept by the client)"
    "OK MSG 1700000000000-1 bob", "* sent to bob"
    "OK JOIN dev", "* you are in #dev"
    "OK LEAVE dev", "* you left #dev, back in #lobby"
    "OK LEAVE lobby", "* you are in #lobby"
    "OK ROOMS", "rooms: (none)"
    "OK ROOMS dev:2 lobby:1", "rooms: dev (2), lobby (1)"
    "OK WHO dev alice bob", "in #dev: alice, bob"
    "OK WHO dev", "in #dev: (none)"
    "OK USERS alice bob charlie", "online: alice, bob, charlie"
    "OK USERS", "online: (none)"
    "OK SUBSCRIBE bob", "* subscribed to bob"
    "OK UNSUBSCRIBE bob", "* unsubscribed from bob"
    "OK SUBS bob charlie", "following: bob, charlie"
    "OK SUBS", "following: (none)"
    "OK PUBLISH 7 0", "* published to 0 online subscribers"
    "OK PUBLISH 8 1", "* published to 1 online subscriber"
    "OK PUBLISH 9 2", "* published to 2 online subscribers"
    "OK HISTORY 0", "* no history in this room"
    "OK HISTORY 1", "* end of history (1 message)"
    "OK HISTORY 20", "* end of history (20 messages)"
    "OK PONG", "pong"
    "OK PONG a b", "pong a b"
    "OK QUIT", "* bye"
    "ERR AUTH_FAILED wrong user name or password", "! AUTH_FAILED: wrong user name or password"
    "ERR LINE_TOO_LONG lines are limited to 4096 bytes", "! LINE_TOO_LONG: lines are limited to 4096 bytes"
    "MSG dev 1700000000000-0 alice hello  there", "[dev] alice: hello  there"
    "PUB 3 alice big news", "[pub] alice: big news"
    "DM 1700000000000-2 alice psst", "[dm] alice: psst"
    "HIST dev 5 alice 1700000000000 earlier words", "[dev 22:13:20] alice: earlier words"
    "HIST dev 6 bob 0 the epoch", "[dev 00:00:00] bob: the epoch"
    "SYS JOIN dev bob", "* bob joined #dev"
    "SYS LEAVE dev bob", "* bob left #dev"
    "SYS FORCED_LOGOUT Logged in from another location.", "* you were logged out: Logged in from another location."
    "SYS SHUTDOWN server stopping", "* the server is shutting down: server stopping"
]

/// The case name of a message, with the inner case for OK and SYS.
let private kind (msg: ServerMsg) =
    let name (x: obj) =
        let case, _ = FSharpValue.GetUnionFields(x, x.GetType())
        case.Name

    match msg with
    | Ok reply -> "Ok." + name reply
    | Sys event -> "Sys." + name event
    | other -> name other

let private controlFree (s: string) =
    s |> Seq.forall (fun c -> c = '\t' || not (Char.IsControl c))

/// Messages with valid names and any text at all, control characters included.
let private serverMsg =
    let user =
        Gen.elements [ "alice"; "bob"; "x.y-z" ]
        |> Gen.map (Username.tryCreate >> Option.get)

    let room =
        Gen.elements [ "lobby"; "dev"; "a#b" ]
        |> Gen.map (RoomName.tryCreate >> Option.get)

    let id =
        Gen.elements [ "1"; "1700000000000-3" ]
        |> Gen.map (MsgId.tryCreate >> Option.get)

    let text =
        ArbMap.defaults
        |> ArbMap.generate<string>
        |> Gen.map (fun s -> if isNull s then "" else s)

    let n = Gen.choose (-3, 1000)
    let ms = Gen.elements [ 0L; 1700000000000L; -1L; Int64.MaxValue; Int64.MinValue ]

    let ok =
        Gen.oneof [
            Gen.map2 (fun u r -> LoggedIn(u, r)) user room
            Gen.map2 (fun u r -> Registered(u, r)) user room
            Gen.map2 (fun u r -> Resumed(u, r)) user room
            Gen.constant (TokenIssued(ResumeToken.tryCreate secret |> Option.get))
            Gen.map2 (fun i u -> DirectSent(i, u)) id user
            Gen.map Joined room
            Gen.map Left room
            Gen.listOf (Gen.zip room n) |> Gen.map RoomList
            Gen.map2 (fun r us -> WhoList(r, us)) room (Gen.listOf user)
            Gen.listOf user |> Gen.map UserList
            Gen.map Subscribed user
            Gen.map Unsubscribed user
            Gen.listOf user |> Gen.map SubList
            Gen.map2 (fun i k -> Published(i, k)) id n
            Gen.map HistoryDone n
            Gen.optionOf text |> Gen.map Pong
            Gen.constant HelpDone
            Gen.constant QuitDone
        ]

    let sys =
        Gen.oneof [
            Gen.map2 (fun r u -> UserJoined(r, u)) room user
            Gen.map2 (fun r u -> UserLeft(r, u)) room user
            Gen.map ForcedLogout text
            Gen.map Shutdown text
        ]

    Gen.oneof [
        Gen.map2 (fun a b -> Hello(a, b)) text text
        Gen.map Info text
        Gen.map Ok ok
        Gen.map2 (fun c t -> Err(c, t)) (Gen.elements ErrorCode.all) text
        Gen.map4 (fun r i u t -> Msg(r, i, u, t)) room id user text
        Gen.map3 (fun i u t -> Pub(i, u, t)) id user text
        Gen.map3 (fun i u t -> Dm(i, u, t)) id user text
        gen {
            let! r = room
            let! i = id
            let! u = user
            let! m = ms
            let! t = text
            return Hist(r, i, u, m, t)
        }
        Gen.map Sys sys
    ]

[<Tests>]
let tests =
    testList "RenderTests" [
        testCases "each kind of server line reads as a sentence" readable (fun (raw: string, shown: string) ->
            Expect.equal (Render.line utc Render.Readable raw) (Some shown) "the readable line")

        testCase "the table covers every kind of server message" (fun () ->
            let cases (t: Type) =
                FSharpType.GetUnionCases t |> Array.map (fun c -> c.Name) |> List.ofArray

            let all =
                [
                    for c in cases typeof<ServerMsg> do
                        match c with
                        | "Ok" -> yield! cases typeof<OkReply> |> List.map ((+) "Ok.")
                        | "Sys" -> yield! cases typeof<SysEvent> |> List.map ((+) "Sys.")
                        | c -> c
                ]
                |> List.filter ((<>) "Ok.HelpDone") // shown on its own below: it prints nothing

            let covered =
                readable
                |> List.map (fst >> ServerLine.parse >> Option.get >> kind)
                |> List.distinct

            // The same kinds in any order: the table is in reading order, not in case order.
            Expect.equal (List.sort covered) (List.sort all) "the kinds of the table's lines")

        testCase "OK HELP prints nothing: the INFO lines before it are the help" (fun () ->
            Expect.equal (Render.line utc Render.Readable "OK HELP") (None: string option) "readable"
            Expect.equal (Render.line utc Render.Raw "OK HELP") (Some "OK HELP") "raw")

        testCase "history times are shown in the given zone" (fun () ->
            let zone =
                TimeZoneInfo.CreateCustomTimeZone("plus2", TimeSpan.FromHours 2.0, "plus2", "plus2")

            Expect.equal
                (Render.line zone Render.Readable "HIST dev 5 alice 1700000000000 hi")
                (Some "[dev 00:13:20] alice: hi")
                "the readable line")

        testCase "a time outside the calendar is shown as the number the server sent" (fun () ->
            Expect.equal
                (Render.line utc Render.Readable $"HIST dev 5 alice {Int64.MaxValue} hi")
                (Some $"[dev {Int64.MaxValue}] alice: hi")
                "the readable line"

            Expect.equal (Render.clock utc -62135596800001L) "-62135596800001" "the clock")

        testCases
            "a line that does not parse is shown as it came"
            [
                "not a server line"
                "MSG dev"
                "OK NOSUCH thing"
                "ERR NO_SUCH_CODE text"
                ""
            ]
            (fun (raw: string) -> Expect.equal (Render.line utc Render.Readable raw) (Some raw) "the readable line")

        testCase "raw mode prints the protocol line itself, but for a token" (fun () ->
            for raw, _ in readable |> List.filter (fun (raw, _) -> not (raw.Contains secret)) do
                Expect.equal (Render.line utc Render.Raw raw) (Some raw) "the raw line")

        testCases
            "a token is never printed, in either mode, even in a malformed line"
            [
                $"OK TOKEN {secret}"
                $"OK TOKEN {secret} extra"
                $"OK TOKEN  {secret}"
                $"OK TOKEN{secret}"
            ]
            (fun (raw: string) ->
                for mode in [ Render.Raw; Render.Readable ] do
                    match Render.line utc mode raw with
                    | Some shown -> Expect.isFalse (shown.Contains secret) $"{mode} shows the token: {shown}"
                    | None -> ())

        testCase "the token reads as issued, not as what it is" (fun () ->
            Expect.equal (Render.line utc Render.Raw $"OK TOKEN {secret}") (Some "OK TOKEN (hidden)") "raw")

        testCases
            "control characters are removed from what is printed, TAB and non-ASCII kept"
            [
                "MSG dev 1 alice \u001b[31mred\u001b[0m", "[dev] alice: [31mred[0m"
                "MSG dev 1 alice bell\u0007 nul\u0000 del\u007f", "[dev] alice: bell nul del"
                "MSG dev 1 alice c1\u0085\u009b end", "[dev] alice: c1 end"
                "MSG dev 1 alice over\rwritten", "[dev] alice: overwritten"
                "MSG dev 1 alice tab\tkept", "[dev] alice: tab\tkept"
                "INFO \u001b]0;new title\u0007", "]0;new title"
                "garbage \u001b[2J", "garbage [2J"
                "PUB 1 bob h\u00e9llo \U0001F389", "[pub] bob: h\u00e9llo \U0001F389"
            ]
            (fun (raw: string, shown: string) ->
                Expect.equal (Render.line utc Render.Readable raw) (Some shown) "the readable line")

        testCases
            "sanitize removes C0 (but TAB), DEL and C1"
            [
                "a\u001bb\u0000c\u007fd\u0085e\u009ff\r\ng", "abcdefg"
                "clean text\twith tab", "clean text\twith tab"
                "", ""
            ]
            (fun (input: string, expected: string) ->
                Expect.equal (Render.sanitize input) expected "the sanitized text")

        testPropertyWithConfig
            (maxTest 500)
            "sanitize leaves no control character but TAB, keeps the rest in order, and is idempotent"
            (fun (s: string) ->
                let s = if isNull s then "" else s
                let clean = Render.sanitize s

                controlFree clean
                && clean = String(s |> Seq.filter (fun c -> c = '\t' || not (Char.IsControl c)) |> Array.ofSeq)
                && Render.sanitize clean = clean)

        testPropertyWithConfig
            (maxTest 500)
            "whatever the server sends, both modes print a line without control characters"
            (fun (s: string) ->
                let s = if isNull s then "" else s
                // Put it behind every kind word, so that the readable renderings get hostile texts too.
                [
                    ""
                    "MSG dev 1 alice "
                    "PUB 1 alice "
                    "INFO "
                    "ERR BAD_ARGUMENT "
                    "SYS SHUTDOWN "
                    "OK PONG "
                ]
                |> List.forall (fun prefix ->
                    [ Render.Raw; Render.Readable ]
                    |> List.forall (fun mode ->
                        match Render.line utc mode (prefix + s) with
                        | Some shown -> controlFree shown
                        | None -> true)))

        testPropertyWithConfig
            (maxTest 1000)
            "every message but OK HELP gets a readable line, naming who and where"
            (fun () ->
                Prop.forAll (Arb.fromGen serverMsg) (fun msg ->
                    match msg, Render.message utc msg with
                    | Ok HelpDone, shown -> shown = None
                    | Msg(r, _, u, _), Some shown
                    | Hist(r, _, u, _, _), Some shown ->
                        shown.StartsWith("[" + RoomName.value r)
                        && shown.Contains(Username.value u + ": ")
                    | Pub(_, u, t), Some shown -> shown = $"[pub] {Username.value u}: {t}"
                    | Dm(_, u, t), Some shown -> shown = $"[dm] {Username.value u}: {t}"
                    | Ok(TokenIssued t), Some shown -> not (shown.Contains(ResumeToken.value t))
                    | Info t, Some shown -> shown = t
                    | _, shown -> shown.IsSome && shown.Value <> ""))
    ]
