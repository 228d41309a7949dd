/// `Protocol.parse` for the slash commands and their argument errors.
module Chat.Domain.Tests.ParseSlashTests

open System
open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

let private parse = Protocol.parse
let private command c = Some(Result.Ok c)

[<Tests>]
let tests =
    testList "ParseSlashTests" [
        testCase "commands without arguments" (fun () ->
            parse "/leave" =! command Leave
            parse "/rooms" =! command Rooms
            parse "/who" =! command Who
            parse "/users" =! command Users
            parse "/subs" =! command Subs
            parse "/help" =! command Help
            parse "/quit" =! command Quit)

        testCase "command words are case-insensitive" (fun () ->
            parse "/WHO" =! command Who
            parse "/Join Games" =! command (Join(room "games")))

        testCase "join takes one room name, folded to lower case" (fun () ->
            parse "/join games" =! command (Join(room "games"))
            parse "/join  Dev#Team.1-x " =! command (Join(room "dev#team.1-x")))

        testCase "join without exactly one room is a bad argument" (fun () ->
            parse "/join" =! Some(Result.Error(BadArgument(VJoin, "usage: /join <room>")))

            parse "/join   "
            =! Some(Result.Error(BadArgument(VJoin, "usage: /join <room>")))

            parse "/join a b"
            =! Some(Result.Error(BadArgument(VJoin, "usage: /join <room>"))))

        testCase "join with an invalid room name is a bad argument" (fun () ->
            parse "/join no!pe"
            =! Some(Result.Error(BadArgument(VJoin, "invalid room name: no!pe")))

            badArgumentVerb ("/join " + String('r', 65)) =! Some VJoin)

        testCase "subscribe and unsubscribe take one username, folded to lower case" (fun () ->
            parse "/subscribe Bob" =! command (Subscribe(user "bob"))
            parse "/unsubscribe bob" =! command (Unsubscribe(user "bob")))

        testCase "subscribe and unsubscribe without one valid username are bad arguments" (fun () ->
            badArgumentVerb "/subscribe" =! Some VSubscribe
            badArgumentVerb "/subscribe a b" =! Some VSubscribe

            parse "/subscribe b@d"
            =! Some(Result.Error(BadArgument(VSubscribe, "invalid user name: b@d")))

            badArgumentVerb "/unsubscribe" =! Some VUnsubscribe
            badArgumentVerb "/unsubscribe -x" =! Some VUnsubscribe)

        testCase "publish takes the rest of the line" (fun () ->
            parse "/publish big news, everyone " =! command (Publish "big news, everyone ")
            parse "/publish   x" =! command (Publish "x"))

        testCases "publish without text is a bad argument" [ "/publish"; "/publish    " ] (fun (line: string) ->
            parse line
            =! Some(Result.Error(BadArgument(VPublish, "usage: /publish <text>"))))

        testCases
            "history defaults to 20 and is clamped to 100"
            [
                "/history", 20
                "/history 1", 1
                "/history  7 ", 7
                "/history 100", 100
                "/history 101", 100
                "/history 2147483647", 100
                "/history 99999999999999999999", 100
            ]
            (fun (line: string, count: int) -> parse line =! command (History count))

        testCases
            "history with anything but a positive whole number is a bad argument"
            [
                "/history abc"
                "/history 0"
                "/history 000"
                "/history -1"
                "/history +5"
                "/history 1.5"
                "/history 1 2"
                "/history ５" // a full-width digit is not an ASCII number
            ]
            (fun (line: string) ->
                parse line
                =! Some(Result.Error(BadArgument(VHistory, "usage: /history [n], n a positive whole number"))))

        testCase "ping takes an optional token" (fun () ->
            parse "/ping" =! command (Ping None)
            parse "/ping   " =! command (Ping None)
            parse "/ping abc" =! command (Ping(Some "abc"))
            parse "/ping  a b " =! command (Ping(Some "a b")))

        testCase "an unknown slash word is an unknown command" (fun () ->
            parse "/nope" =! Some(Result.Error(UnknownCommand "/nope"))
            parse "/nope with args" =! Some(Result.Error(UnknownCommand "/nope"))
            parse "/" =! Some(Result.Error(UnknownCommand "/"))
            parse "/ join x" =! Some(Result.Error(UnknownCommand "/")))
    ]
