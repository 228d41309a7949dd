/// `Protocol.render`: the exact text of every server line form in PROTOCOL.md.
module Chat.Domain.Tests.RenderTests

open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders

let private render = Protocol.render
let private users names = names |> List.map user

[<Tests>]
let tests =
    testList "RenderTests" [
        testCase "HELLO, INFO and ERR carry free text" (fun () ->
            render (Hello("srv-1", "welcome, friend"))
            =! "HELLO chat/1 srv-1 welcome, friend"

            render (Info "  /join <room>") =! "INFO   /join <room>"
            render (Err(NotLoggedIn, "log in first")) =! "ERR NOT_LOGGED_IN log in first")

        testCase "every error code has its wire name" (fun () ->
            ErrorCode.all |> List.map (fun c -> render (Err(c, "x")))
            =! [
                "ERR TLS_REQUIRED x"
                "ERR NOT_LOGGED_IN x"
                "ERR ALREADY_LOGGED_IN x"
                "ERR AUTH_FAILED x"
                "ERR DUPLICATE_LOGIN x"
                "ERR USER_EXISTS x"
                "ERR NO_SUCH_USER x"
                "ERR UNKNOWN_COMMAND x"
                "ERR BAD_ARGUMENT x"
                "ERR BAD_ENCODING x"
                "ERR LINE_TOO_LONG x"
                "ERR RATE_LIMITED x"
                "ERR LOGIN_TIMEOUT x"
                "ERR UNAVAILABLE x"
                "ERR SLOW_CONSUMER x"
            ])

        testCase "wire names parse back to their codes" (fun () ->
            ErrorCode.all |> List.map (ErrorCode.wire >> ErrorCode.tryParse)
            =! (ErrorCode.all |> List.map Some)

            ErrorCode.tryParse "bad_argument" =! None)

        testCase "OK replies to single-valued commands" (fun () ->
            render (Ok(LoggedIn(user "alice", lobby))) =! "OK LOGIN alice lobby"
            render (Ok(Registered(user "bob", lobby))) =! "OK REGISTER bob lobby"
            render (Ok(Resumed(user "alice", lobby))) =! "OK RESUME alice lobby"

            render (Ok(TokenIssued(ResumeToken.tryCreate "abcdefghijklmnop_-0123" |> Option.get)))
            =! "OK TOKEN abcdefghijklmnop_-0123"

            render (Ok(DirectSent(msgId "1700000000000-1", user "bob")))
            =! "OK MSG 1700000000000-1 bob"

            render (Ok(Joined(room "games"))) =! "OK JOIN games"
            render (Ok(Left(room "games"))) =! "OK LEAVE games"
            render (Ok(Subscribed(user "bob"))) =! "OK SUBSCRIBE bob"
            render (Ok(Unsubscribed(user "bob"))) =! "OK UNSUBSCRIBE bob"
            render (Ok(Published(msgId "m-7", 3))) =! "OK PUBLISH m-7 3"
            render (Ok(HistoryDone 0)) =! "OK HISTORY 0"
            render (Ok HelpDone) =! "OK HELP"
            render (Ok QuitDone) =! "OK QUIT")

        testCase "OK PONG echoes its token when there is one" (fun () ->
            render (Ok(Pong None)) =! "OK PONG"
            render (Ok(Pong(Some "t-1"))) =! "OK PONG t-1")

        testCase "OK ROOMS lists room:members sorted by room name" (fun () ->
            render (Ok(RoomList [ room "b", 2; room "a.b", 3; room "a", 1 ]))
            =! "OK ROOMS a:1 a.b:3 b:2")

        testCase "OK ROOMS without rooms is the bare word" (fun () -> render (Ok(RoomList [])) =! "OK ROOMS")

        testCase "name lists are sorted by ordinal order" (fun () ->
            // Ordinal: '-' < '.' < digits < '_' < letters; a culture-aware sort would differ.
            let names = users [ "bob"; "_x"; "9z"; "a.b"; "a-b"; "a" ]
            let sorted = "9z _x a a-b a.b bob"
            render (Ok(WhoList(lobby, names))) =! "OK WHO lobby " + sorted
            render (Ok(UserList names)) =! "OK USERS " + sorted
            render (Ok(SubList names)) =! "OK SUBS " + sorted)

        testCase "empty name lists" (fun () ->
            render (Ok(WhoList(room "empty", []))) =! "OK WHO empty"
            render (Ok(UserList [])) =! "OK USERS"
            render (Ok(SubList [])) =! "OK SUBS")

        testCase "MSG, PUB, DM and HIST put the text last, spaces and all" (fun () ->
            render (Msg(lobby, msgId "42", user "alice", "hi  there "))
            =! "MSG lobby 42 alice hi  there "

            render (Pub(msgId "7", user "alice", "news")) =! "PUB 7 alice news"
            render (Dm(msgId "8-0", user "alice", " psst ")) =! "DM 8-0 alice  psst "

            render (Hist(lobby, msgId "42", user "alice", 1700000000123L, "old text"))
            =! "HIST lobby 42 alice 1700000000123 old text")

        testCase "SYS events" (fun () ->
            render (Sys(UserJoined(lobby, user "alice"))) =! "SYS JOIN lobby alice"
            render (Sys(UserLeft(room "games", user "alice"))) =! "SYS LEAVE games alice"

            render (Sys(ForcedLogout Routing.forcedLogoutText))
            =! "SYS FORCED_LOGOUT Logged in from another location."

            render (Sys(Shutdown "server going down")) =! "SYS SHUTDOWN server going down")

        testCase "help is INFO lines then OK HELP" (fun () ->
            let lines = Decide.helpLines |> List.map (Info >> render)
            lines |> List.forall (fun l -> l.StartsWith "INFO ") =! true
            lines |> List.exists (fun l -> l.Contains "/history [n]") =! true)
    ]
