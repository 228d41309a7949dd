/// `Decide.decide` before login: only LOGIN, REGISTER, /help, /ping and /quit.
module Chat.Domain.Tests.DecideAnonymousTests

open NUnit.Framework
open Chat.Domain
open Chat.Domain.Tests.Builders

let private notLoggedIn = [ errReply NotLoggedIn Decide.notLoggedIn ]

[<Test>]
let ``LOGIN asks to authenticate and leaves the session anonymous`` () =
    decide Anonymous "LOGIN Alice secret pass"
    =! (Anonymous, [ Authenticate(user "alice", password "secret pass") ])

[<Test>]
let ``LOGIN does not apply the REGISTER minimum`` () =
    decide Anonymous "LOGIN alice x"
    =! (Anonymous, [ Authenticate(user "alice", password "x") ])

[<Test>]
let ``REGISTER asks to create the account`` () =
    decide Anonymous "REGISTER Bob 12345678"
    =! (Anonymous, [ CreateAccount(user "bob", password "12345678") ])

[<Test>]
let ``REGISTER refuses a password under the minimum`` () =
    decide Anonymous "REGISTER bob 1234567"
    =! (Anonymous, [ errReply BadArgumentCode "password must have at least 8 characters" ])

[<Test>]
let ``the REGISTER minimum is a server option`` () =
    let lax = { limits with MinPassword = 1 }

    Decide.decide lax 0L Anonymous (parsed "REGISTER bob x")
    =! (Anonymous, [ CreateAccount(user "bob", password "x") ])

[<Test>]
let ``REGISTER refuses a password over 72 bytes`` () =
    decide Anonymous ("REGISTER bob " + String.replicate 73 "p")
    =! (Anonymous, [ errReply BadArgumentCode "password is 73 bytes; at most 72" ])

[<TestCase("LOGIN")>]
[<TestCase("LOGIN alice")>]
[<TestCase("LOGIN b@d password")>]
[<TestCase("REGISTER")>]
[<TestCase("REGISTER bob")>]
let ``bad arguments of LOGIN and REGISTER are BAD_ARGUMENT`` (line: string) =
    let state, effects = decide Anonymous line
    (state, errorCode effects) =! (Anonymous, Some BadArgumentCode)

[<Test>]
let ``ping, help and quit work before login`` () =
    decide Anonymous "/ping" =! (Anonymous, [ okReply (Pong None) ])
    decide Anonymous "/ping t1" =! (Anonymous, [ okReply (Pong(Some "t1")) ])
    decide Anonymous "/quit" =! (Anonymous, [ okReply QuitDone; CloseConnection ])

[<Test>]
let ``help is the INFO lines then OK HELP`` () =
    decide Anonymous "/help"
    =! (Anonymous, (Decide.helpLines |> List.map (Info >> reply)) @ [ okReply HelpDone ])

[<TestCase("hello everyone")>]
[<TestCase("//text")>]
[<TestCase("/join games")>]
[<TestCase("/join")>] // a bad argument of a command that needs a login
[<TestCase("/leave")>]
[<TestCase("/rooms")>]
[<TestCase("/who")>]
[<TestCase("/users")>]
[<TestCase("/subscribe bob")>]
[<TestCase("/subscribe")>]
[<TestCase("/unsubscribe bob")>]
[<TestCase("/subs")>]
[<TestCase("/publish news")>]
[<TestCase("/publish")>]
[<TestCase("/history")>]
[<TestCase("/history abc")>]
[<TestCase("/nope")>]
[<TestCase("login alice secret")>]
let ``anything else is NOT_LOGGED_IN`` (line: string) =
    decide Anonymous line =! (Anonymous, notLoggedIn)

[<TestCase("LOGIN alice secret123")>]
[<TestCase("hello")>]
[<TestCase("/quit")>]
[<TestCase("/nope")>]
let ``an ended session decides nothing`` (line: string) = decide Ended line =! (Ended, [])
