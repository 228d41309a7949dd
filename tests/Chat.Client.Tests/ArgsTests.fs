/// The command line: what the flags come to, and the refusals a user sees.
module Chat.Client.Tests.ArgsTests

open System
open Expecto
open Chat.Domain
open Chat.Client
open Chat.Tests.Cases

let private pinHex = String.replicate 32 "ab"

let private run argv =
    match Args.parse argv with
    | Args.Run s -> s
    | other -> failtest $"expected settings, got {other}"

let private refusal argv =
    match Args.parse argv with
    | Args.BadFlags text -> text
    | other -> failtest $"expected bad flags, got {other}"

[<Tests>]
let tests =
    testList "ArgsTests" [
        testCase "no flags: localhost:8000, the system trust store, no user" (fun () ->
            let s = run [||]

            Expect.equal
                (s.Host, s.Port, s.Trust, s.User, s.Register, s.Raw)
                (Args.DefaultHost, Args.DefaultPort, SystemStore, (None: Username option), false, false)
                "host, port, trust, user, --register, --raw"

            Expect.equal (Args.DefaultHost, Args.DefaultPort) ("localhost", 8000) "the default host and port")

        testCase "every flag comes through" (fun () ->
            let s =
                run [|
                    "--host"
                    "chat.example"
                    "--port"
                    "7000"
                    "--ca"
                    "ca.pem"
                    "--user"
                    "Alice"
                    "--register"
                    "--raw"
                |]

            Expect.equal s.Host "chat.example" "--host"
            Expect.equal s.Port 7000 "--port"
            Expect.equal s.Trust (CaFile "ca.pem") "--ca"
            Expect.equal (s.User |> Option.map Username.value) (Some "alice") "--user, folded to lower case"
            Expect.equal (s.Register, s.Raw) (true, true) "--register and --raw")

        testCases
            "--pin takes the fingerprint with or without colons, in either case"
            [
                "AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB"
                "abababababababababababababababababababababababababababababababab"
                "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"
            ]
            (fun (pin: string) ->
                Expect.equal (run [| "--pin"; pin |]).Trust (Pinned(Convert.FromHexString pinHex)) "the trust")

        testCase "a --pin that is not a SHA-256 fingerprint is refused, saying what it needs" (fun () ->
            Expect.stringContains (refusal [| "--pin"; "abcd" |]) "64 hex digits" "a short pin's refusal"
            Expect.stringContains (refusal [| "--pin"; pinHex + "ab" |]) "64 hex digits" "a long pin's refusal")

        testCase "--ca and --pin exclude each other" (fun () ->
            Expect.stringContains (refusal [| "--ca"; "ca.pem"; "--pin"; pinHex |]) "exclude each other" "the refusal")

        testCase "--register needs --user" (fun () ->
            Expect.stringContains (refusal [| "--register" |]) "--register needs --user" "the refusal")

        testCases "a port outside 1..65535 is refused" [ "0"; "65536"; "-1"; "http" ] (fun (port: string) ->
            Expect.isNotEmpty (refusal [| "--port"; port |]) "the refusal")

        testCases
            "an invalid user name is refused"
            [ "bad name"; "-dash-first"; "abcdefghijklmnopqrstuvwxyz0123456" ]
            (fun (user: string) -> Expect.isNotEmpty (refusal [| "--user"; user |]) "the refusal")

        testCase "reconnect: on by default (0.5 s doubling to 30 s), tuned or turned off by flags" (fun () ->
            Expect.equal (run [||]).Reconnect (Some Backoff.defaults) "default"

            Expect.equal
                (run [| "--reconnect-min"; "0.1"; "--reconnect-max"; "5" |]).Reconnect
                (Some {
                    First = TimeSpan.FromSeconds 0.1
                    Cap = TimeSpan.FromSeconds 5.0
                })
                "tuned"

            Expect.isNone (run [| "--no-reconnect" |]).Reconnect "off"
            Expect.isNotEmpty (refusal [| "--reconnect-min"; "3"; "--reconnect-max"; "1" |]) "max below min"
            Expect.isNotEmpty (refusal [| "--reconnect-max"; "0" |]) "zero")

        testCase "an unknown flag is refused" (fun () ->
            Expect.stringContains (refusal [| "--nosuch" |]) "--nosuch" "the refusal")

        testCase "--help shows the flags, the commands and the exit codes" (fun () ->
            match Args.parse [| "--help" |] with
            | Args.ShowHelp text ->
                for expected in
                    [
                        "--pin"
                        "--ca"
                        "--user"
                        "/join <room>"
                        "Exit codes:"
                        "4 the --user login"
                    ] do
                    Expect.stringContains text expected "the help"
            | other -> failtest $"expected help, got {other}")
    ]
