/// What each kind of ending leads to: a reconnect, or an exit with which code.
module Chat.Client.Tests.DisconnectTests

open Expecto
open Chat.Domain
open Chat.Client
open Chat.Client.ExitCode
open Chat.Client.Disconnect

let private server = "localhost:8000"
let private lost = Lost "Connection reset by peer"

let private decideWith resumable typed sent last ending =
    decide server resumable typed sent last ending

[<Tests>]
let tests =
    testList "DisconnectTests" [
        testCase "a resumable session that dropped, closed or got SYS SHUTDOWN or an ERR reconnects" (fun () ->
            let lasts = [
                None
                Some(Ok(Pong None))
                Some(Sys(Shutdown "bye"))
                Some(Err(SlowConsumer, "too slow"))
            ]

            for last in lasts do
                for ending in [ Closed; lost ] do
                    Expect.equal (decideWith true false false last ending) Reconnect $"{last} {ending}")

        testCase "after /quit (ours or typed), OK QUIT or SYS FORCED_LOGOUT: the exit of today" (fun () ->
            let forced = Some(Sys(ForcedLogout "Logged in from another location."))
            Expect.equal (decideWith true false false forced Closed) (Exit(EndedByServer, note server Closed)) "forced"

            Expect.equal
                (decideWith true false false (Some(Ok QuitDone)) Closed)
                (Exit(Done, note server Closed))
                "OK QUIT"

            Expect.equal (decideWith true false true None Closed) (Exit(Done, note server Closed)) "our /quit"
            Expect.equal (decideWith true true false None lost) (Exit(Failed, note server lost)) "typed /quit")

        testCase "not resumable (no --user, never logged in, --no-reconnect): the exit of today" (fun () ->
            for last in [ None; Some(Sys(Shutdown "bye")); Some(Err(LoginTimeout, "late")) ] do
                for ending in [ Closed; lost ] do
                    Expect.equal
                        (decideWith false false false last ending)
                        (Exit(ofEnding false last ending, note server ending))
                        $"{last} {ending}")

        testCase "a refused certificate is fatal; an unreachable server or a failed handshake is not" (fun () ->
            let presented = { Fingerprint = "AB"; Names = [] }

            let fatal = [
                NoCertificate
                Untrusted([], presented)
                WrongName("h", presented)
                WrongPin presented
            ]

            for e in fatal do
                Expect.isTrue (isFatal e) $"{e}"

            for e in [ CannotConnect("h", 1, "refused"); HandshakeFailed("h", 1, "reset") ] do
                Expect.isFalse (isFatal e) $"{e}")
    ]
