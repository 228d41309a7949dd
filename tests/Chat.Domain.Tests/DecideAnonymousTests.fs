/// `Decide.decide` before login: only LOGIN, REGISTER, /help, /ping and /quit.
module Chat.Domain.Tests.DecideAnonymousTests

open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

let private notLoggedIn = [ errReply NotLoggedIn Decide.notLoggedIn ]

[<Tests>]
let tests =
    testList "DecideAnonymousTests" [
        testCase "LOGIN asks to authenticate and leaves the session anonymous" (fun () ->
            decide Anonymous "LOGIN Alice secret pass"
            =! (Anonymous, [ Authenticate(user "alice", password "secret pass") ]))

        testCase "LOGIN does not apply the REGISTER minimum" (fun () ->
            decide Anonymous "LOGIN alice x"
            =! (Anonymous, [ Authenticate(user "alice", password "x") ]))

        testCase "REGISTER asks to create the account" (fun () ->
            decide Anonymous "REGISTER Bob 12345678"
            =! (Anonymous, [ CreateAccount(user "bob", password "12345678") ]))

        testCase "REGISTER refuses a password under the minimum" (fun () ->
            decide Anonymous "REGISTER bob 1234567"
            =! (Anonymous, [ errReply BadArgumentCode "password must have at least 8 characters" ]))

        testCase "the REGISTER minimum is a server option" (fun () ->
            let lax = { limits with MinPassword = 1 }

            Decide.decide lax 0L Anonymous (parsed "REGISTER bob x")
            =! (Anonymous, [ CreateAccount(user "bob", password "x") ]))

        testCase "REGISTER refuses a password over 72 bytes" (fun () ->
            decide Anonymous ("REGISTER bob " + String.replicate 73 "p")
            =! (Anonymous, [ errReply BadArgumentCode "password is 73 bytes; at most 72" ]))

        testCases
            "bad arguments of LOGIN and REGISTER are BAD_ARGUMENT"
            [ "LOGIN"; "LOGIN alice"; "LOGIN b@d password"; "REGISTER"; "REGISTER bob" ]
            (fun (line: string) ->
                let state, effects = decide Anonymous line
                (state, errorCode effects) =! (Anonymous, Some BadArgumentCode))

        testCase "ping, help and quit work before login" (fun () ->
            decide Anonymous "/ping" =! (Anonymous, [ okReply (Pong None) ])
            decide Anonymous "/ping t1" =! (Anonymous, [ okReply (Pong(Some "t1")) ])
            decide Anonymous "/quit" =! (Anonymous, [ okReply QuitDone; CloseConnection ]))

        testCase "help is the INFO lines then OK HELP" (fun () ->
            decide Anonymous "/help"
            =! (Anonymous, (Decide.helpLines |> List.map (Info >> reply)) @ [ okReply HelpDone ]))

        testCases
            "anything else is NOT_LOGGED_IN"
            [
                "hello everyone"
                "//text"
                "/join games"
                "/join" // a bad argument of a command that needs a login
                "/leave"
                "/rooms"
                "/who"
                "/users"
                "/subscribe bob"
                "/subscribe"
                "/unsubscribe bob"
                "/subs"
                "/publish news"
                "/publish"
                "/history"
                "/history abc"
                "/nope"
                "login alice secret"
            ]
            (fun (line: string) -> decide Anonymous line =! (Anonymous, notLoggedIn))

        testCases
            "an ended session decides nothing"
            [ "LOGIN alice secret123"; "hello"; "/quit"; "/nope" ]
            (fun (line: string) -> decide Ended line =! (Ended, []))
    ]
