/// What the interactive client's panes show after a sequence of server lines and key presses, and what it sends.
module Chat.Client.Tests.ChatViewTests

open System
open Expecto
open Chat.Domain
open Chat.Client
open Chat.Client.ChatModel
open Chat.Client.Tests.ViewScript
open Chat.Client.Conversations
open Chat.Client.Conversation

[<Tests>]
let tests =
    testList "ChatViewTests" [
        testCase "half-typed input is never touched by arriving messages" (fun () ->
            let m, sent = inDev () |> run (keys "I am typing a long sent")
            Expect.isEmpty sent "nothing sent while typing"

            let m, sent =
                m
                |> run (
                    lines [
                        "MSG dev 5-0 bob hello there"
                        "SYS JOIN dev charlie"
                        "MSG dev 6-0 charlie hi"
                    ]
                )

            Expect.isEmpty sent "nothing sent by arriving lines"
            Expect.equal m.Input.Text "I am typing a long sent" "the input intact"
            Expect.equal ((inputLine m).TrimEnd()) "[#dev] I am typing a long sent" "the input line on screen"
            Expect.isTrue (has "<bob> hello there" m) "the message in the pane"
            Expect.isTrue (has "* charlie joined #dev" m) "the presence event"
            let m, sent = m |> run [ Pressed Enter ]
            Expect.equal sent [ Send "I am typing a long sent" ] "sent on Enter"
            Expect.equal m.Input.Text "" "the line cleared")

        testCase "ready in a room: its members and the rooms asked for quietly, shown in the side panel" (fun () ->
            let m, sent =
                fresh () |> run (lines [ "OK LOGIN alice lobby" ] @ [ Ready(room "dev") ])

            Expect.equal sent [ Send "/who"; Send "/who"; Send "/rooms" ] "the client's own requests"

            let m, _ =
                m
                |> run (lines [ "OK WHO lobby alice"; "OK WHO dev alice bob"; "OK ROOMS dev:2 lobby:3" ])

            Expect.isFalse (has "in #dev:" m) "the quiet replies make no line"
            Expect.equal m.Members [ user "alice"; user "bob" ] "members"
            Expect.isTrue (has "│>#dev (2)" m) "the room in view"
            Expect.isTrue (has "│ #lobby (3)" m) "the other room"
            Expect.isTrue (has "│In #dev (2)" m) "the member count"
            Expect.isTrue (has "│ bob" m) "a member")

        testCase "a /who the user typed is shown, and join and leave events change the members" (fun () ->
            let m, sent = inDev () |> run (keys "/who" @ [ Pressed Enter ])
            Expect.equal sent [ Send "/who" ] "passed to the server"

            let m, _ =
                m
                |> run (lines [ "OK WHO dev alice bob"; "SYS JOIN dev carol"; "SYS LEAVE dev bob" ])

            Expect.isTrue (has "in #dev: alice, bob" m) "the reply shown"
            Expect.equal m.Members [ user "alice"; user "carol" ] "carol in, bob out")

        testCase "/join goes to the room once the server says so; text in a room left is not sent" (fun () ->
            let m, sent = inDev () |> run (keys "/join ops" @ [ Pressed Enter ])
            Expect.equal sent [ Send "/join ops" ] "sent as typed"
            let m, sent = m |> run (lines [ "OK JOIN ops" ])
            Expect.equal m.View (Room(room "ops")) "in view"
            Expect.equal sent [ Send "/who" ] "its members asked for"
            Expect.isTrue (has "* you are in #ops" m) "said in the room arrived in"
            let m, _ = m |> run [ Pressed PrevView ]
            Expect.equal m.View (Room(room "dev")) "back to #dev's lines"
            let m, sent = m |> run (keys "hello?" @ [ Pressed Enter ])
            Expect.isEmpty sent "not sent to #ops by mistake"
            Expect.isTrue (has "you are not in #dev: /join dev first" m) "told why")

        testCase "/quit and Ctrl-C leave; /help is the client's own" (fun () ->
            let _, sent = inDev () |> run (keys "/quit" @ [ Pressed Enter ])
            Expect.equal sent [ Quit ] "/quit"
            let _, sent = inDev () |> run [ Pressed Interrupt ]
            Expect.equal sent [ Quit ] "Ctrl-C"
            let m, sent = inDev () |> run (keys "/help" @ [ Pressed Enter ])
            Expect.isEmpty sent "nothing sent"
            Expect.isTrue (has "/query <user>" m) "the help")

        testCase "tab completion of a member's name through the keys" (fun () ->
            let m, _ = inDev () |> run (keys "hi b" @ [ Pressed Tab ])
            Expect.equal m.Input.Text "hi bob " "completed")

        testCase "the status line: reconnecting with a countdown, then connected" (fun () ->
            let m, _ =
                inDev ()
                |> run [
                    Retrying("connection closed by localhost:8000", TimeSpan.FromSeconds 3.0, 2, 1000L)
                    Tick 2000L
                ]

            let status = (screen m)[22]

            Expect.stringContains
                status
                "[reconnecting in 2 s (attempt 2): connection closed by localhost:8000]"
                status

            let m, _ = m |> run [ Ready(room "dev") ]

            Expect.stringContains
                (screen m).[22]
                "[connected] alice in #dev | localhost:8000 TLS 1.3, verified by CA"
                "")

        testCase "80x24: every line fits, the input at the bottom, the status above it" (fun () ->
            let long = String.replicate 200 "x"

            let m, _ =
                inDev ()
                |> run (lines [ $"MSG dev 5-0 bob {long}" ] @ keys (String.replicate 100 "y"))

            let s = screen m
            Expect.hasLength s 24 "24 lines"
            Expect.all s (fun l -> l.Length = 80) "each 80 wide"
            Expect.isTrue ((List.last s).EndsWith(String.replicate 50 "y" + " ")) "the end of the input in sight"
            Expect.isTrue (s |> List.exists (fun l -> l.StartsWith "      xxx")) "a long line wrapped, indented")

        testCase "narrow: no side panel" (fun () ->
            let s = Screen.render (inDev ()) 40 10
            Expect.all s (fun l -> l.Length = 40 && not (l.Contains "│")) "40 wide, no panel")

        testCase "colour per sender: stable; none with NO_COLOR; ASCII without UTF-8" (fun () ->
            Expect.equal (Panes.colourOf "bob") (Panes.colourOf "Bob") "case-folded"

            Expect.isTrue
                ([ "alice"; "bob"; "carol"; "dave" ]
                 |> List.map Panes.colourOf
                 |> List.distinct
                 |> List.length
                    >
                    1)
                "spread"

            let m, _ = inDev () |> run (lines [ "MSG dev 5-0 bob héllo" ])

            let senders (m: Model) =
                Screen.messages m 60 5 |> List.concat |> List.filter (fun s -> s.Style.IsSender)

            Expect.isNonEmpty (senders m) "coloured"
            Expect.isEmpty (senders { m with Colour = false }) "NO_COLOR"
            let plain = Screen.render { m with Ascii = true } 80 24
            Expect.isTrue (plain |> List.exists (fun l -> l.Contains "<bob> h?llo")) "non-ASCII as ?"
            Expect.isTrue (plain |> List.forall (fun l -> l |> Seq.forall (fun c -> int c < 128))) "ASCII only")

        testCase
            "NO_COLOR set and not empty turns colour off; the locale decides UTF-8 as the C library does"
            (fun () ->
                let env (pairs: (string * string) list) (name: string) =
                    pairs |> List.tryFind (fst >> (=) name) |> Option.map snd |> Option.toObj

                Expect.isTrue (Panes.colourWanted (env [])) "unset"
                Expect.isTrue (Panes.colourWanted (env [ "NO_COLOR", "" ])) "empty"
                Expect.isFalse (Panes.colourWanted (env [ "NO_COLOR", "1" ])) "set"
                Expect.isTrue (Panes.utf8Locale (env [ "LANG", "en_US.UTF-8" ])) "LANG"
                Expect.isTrue (Panes.utf8Locale (env [ "LANG", "C"; "LC_CTYPE", "C.utf8" ])) "LC_CTYPE first"
                Expect.isFalse (Panes.utf8Locale (env [ "LANG", "en_US.UTF-8"; "LC_ALL", "C" ])) "LC_ALL wins"
                Expect.isFalse (Panes.utf8Locale (env [])) "none: the C locale"
                Expect.isFalse (Panes.utf8Locale (env [ "LANG", "POSIX" ])) "POSIX")
    ]
