/// The exit codes scripts branch on, and which ending deserves which.
module Chat.Client.Tests.ExitCodeTests

open Expecto
open Chat.Domain
open Chat.Client
open Chat.Client.ExitCode

let private some = Some
let private room = (RoomName.tryCreate "dev").Value
let private alice = (Username.tryCreate "alice").Value
let private lost = Lost "Connection reset by peer"

[<Tests>]
let tests =
    testList "ExitCodeTests" [
        testCase "the codes are the documented numbers" (fun () ->
            Expect.equal [ Done; Failed; Usage; EndedByServer; LoginRefused ] [ 0; 1; 2; 3; 4 ] "the codes")

        testCase "OK QUIT last: done, however the connection ended" (fun () ->
            for quitSent in [ true; false ] do
                for ending in [ Closed; lost ] do
                    Expect.equal (ofEnding quitSent (some (Ok QuitDone)) ending) Done $"{quitSent} {ending}")

        testCase
            "ERR, FORCED_LOGOUT or SHUTDOWN last: ended by the server, even after our /quit or a broken connection"
            (fun () ->
                let last = [
                    Err(SlowConsumer, "too slow")
                    Err(LoginTimeout, "no login")
                    Sys(ForcedLogout "Logged in from another location.")
                    Sys(Shutdown "bye")
                ]

                for msg in last do
                    for quitSent in [ true; false ] do
                        for ending in [ Closed; lost ] do
                            Expect.equal
                                (ofEnding quitSent (some msg) ending)
                                EndedByServer
                                $"{msg} {quitSent} {ending}")

        testCase "closed after our /quit without its reply: done" (fun () ->
            Expect.equal (ofEnding true None Closed) Done "no last message"

            Expect.equal
                (ofEnding true (some (Msg(room, (MsgId.tryCreate "1").Value, alice, "hi"))) Closed)
                Done
                "a MSG last")

        testCase "closed without a word when we did not ask: ended by the server" (fun () ->
            Expect.equal (ofEnding false None Closed) EndedByServer "no last message"
            Expect.equal (ofEnding false (some (Ok(Pong None))) Closed) EndedByServer "OK PONG last")

        testCase "a lost connection is a failure, asked to quit or not" (fun () ->
            Expect.equal (ofEnding false None lost) Failed "no /quit, no last message"
            Expect.equal (ofEnding true None lost) Failed "after /quit, no last message"
            Expect.equal (ofEnding true (some (Ok(Joined room))) lost) Failed "after /quit, OK JOIN last")

        testCase "the note says who closed or what was lost" (fun () ->
            Expect.equal (note "localhost:8000" Closed) "connection closed by localhost:8000" "closed"

            Expect.equal
                (note "localhost:8000" lost)
                "connection to localhost:8000 lost: Connection reset by peer"
                "lost")

        testCase "the help lists every code once" (fun () ->
            Expect.equal
                (help |> List.map (fun l -> l.Split(' ')[0]))
                [ "0"; "1"; "2"; "3"; "4" ]
                "the first word of each help line")
    ]
