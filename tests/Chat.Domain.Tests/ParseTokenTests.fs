/// `Protocol.parse` for RESUME, /token, /msg and the history pages, and each of their errors.
module Chat.Domain.Tests.ParseTokenTests

open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

let private parse = Protocol.parse
let private command c = Some(Result.Ok c)

let private bad verb detail =
    Some(Result.Error(BadArgument(verb, detail)))

let private tokenText = "Zm9vYmFyYmF6cXV4LXRva2VuLTAxMjM0NTY3ODk_"
let private token = ResumeToken.tryCreate tokenText |> Option.get

let private invalidToken =
    bad VResume "invalid token (16 to 256 characters of A-Z a-z 0-9 _ -)"

[<Tests>]
let tests =
    testList "ParseTokenTests" [
        testCase "RESUME takes a username, folded to lower case, and a token" (fun () ->
            parse $"RESUME Alice {tokenText}"
            =! command (Command.Resume(user "alice", token))

            parse $"RESUME alice   {tokenText}  "
            =! command (Command.Resume(user "alice", token)))

        testCase "RESUME is an upper-case keyword like LOGIN" (fun () ->
            parse $"resume alice {tokenText}" =! command (Say $"resume alice {tokenText}"))

        testCase "RESUME without arguments, with a bad username or without a token" (fun () ->
            parse "RESUME" =! bad VResume "missing username and token"
            parse "RESUME   " =! bad VResume "missing username and token"

            parse $"RESUME b@d {tokenText}"
            =! bad VResume "invalid username (letters, digits, _ . -; at most 32)"

            parse "RESUME alice" =! bad VResume "missing token"
            parse "RESUME alice   " =! bad VResume "missing token")

        testCases
            "RESUME with a malformed token never repeats it"
            [
                "RESUME alice short"
                "RESUME alice " + String.replicate 257 "a"
                "RESUME alice abcdefghijklmnop=="
                "RESUME alice abcdefghijklmnop qrstuvwxyz012345"
                "RESUME alice abcdefghijklmnop+/"
            ]
            (fun (line: string) -> parse line =! invalidToken)

        testCase "/token takes no arguments" (fun () ->
            parse "/token" =! command Token
            parse "/TOKEN  " =! command Token
            parse "/token please" =! bad VToken "usage: /token")

        testCase "/msg takes a user and the rest of the line as its text" (fun () ->
            parse "/msg Bob hi" =! command (Direct(user "bob", "hi"))

            parse "/msg  bob   hello  there "
            =! command (Direct(user "bob", "hello  there "))

            parse "/msg bob \thi" =! command (Direct(user "bob", "\thi")))

        testCase "/msg without a user or a text, or to an invalid name" (fun () ->
            parse "/msg" =! bad VMsg "usage: /msg <user> <text>"
            parse "/msg bob" =! bad VMsg "usage: /msg <user> <text>"
            parse "/msg bob    " =! bad VMsg "usage: /msg <user> <text>"
            parse "/msg b@d hi" =! bad VMsg "invalid user name: b@d")

        testCase "/msg refuses control characters as room text is refused" (fun () ->
            parse "/msg bob hi\u0007"
            =! bad VMsg "control characters are not allowed; nothing was delivered"

            parse "/msg bob \u009bx"
            =! bad VMsg "control characters are not allowed; nothing was delivered")

        testCases
            "history pages take a stream id and an optional count"
            [
                "/history after 1700000000000-3", HistoryAfter(msgId "1700000000000-3", 20)
                "/history before 1700000000000-3", HistoryBefore(msgId "1700000000000-3", 20)
                "/history after 5-0 7", HistoryAfter(msgId "5-0", 7)
                "/history  Before  5-0  100 ", HistoryBefore(msgId "5-0", 100)
                "/history after 5-0 101", HistoryAfter(msgId "5-0", 100)
                "/history after 5-0 99999999999", HistoryAfter(msgId "5-0", 100)
                // The id in its canonical spelling: ids are compared by order, not by text.
                "/history after 007-01", HistoryAfter(msgId "7-1", 20)
                "/history after 0-0", HistoryAfter(msgId "0-0", 20)
            ]
            (fun (line: string, expected: Command) -> parse line =! command expected)

        testCases
            "history pages without a well-formed id are bad arguments"
            [
                "after"
                "before"
                "after abc"
                "after 12"
                "after 1-2-3"
                "before -1-2"
                "after 1-x"
                "after 99999999999999999999-0"
            ]
            (fun (args: string) ->
                let direction = args.Split(' ')[0]

                parse ("/history " + args)
                =! bad VHistory $"usage: /history {direction} <id> [n], id a message id <ms>-<seq>")

        testCases
            "history pages with a count that is not a positive whole number are bad arguments"
            [ "after 1-0 0"; "after 1-0 -3"; "before 1-0 x"; "before 1-0 2 3" ]
            (fun (args: string) ->
                let direction = args.Split(' ')[0]

                parse ("/history " + args)
                =! bad VHistory $"usage: /history {direction} <id> [n], n a positive whole number")

        testCase "the new verbs: RESUME is usable before login, the others are not" (fun () ->
            Verb.usableBeforeLogin VResume =! true
            Verb.usableBeforeLogin VToken =! false
            Verb.usableBeforeLogin VMsg =! false
            Verb.ofCommand (Command.Resume(user "a", token)) =! Some VResume
            Verb.ofCommand Token =! Some VToken
            Verb.ofCommand (Direct(user "a", "x")) =! Some VMsg
            Verb.ofCommand (HistoryAfter(msgId "1-0", 1)) =! Some VHistory
            Verb.ofCommand (HistoryBefore(msgId "1-0", 1)) =! Some VHistory)

        testCase "/help lists the new commands" (fun () ->
            let help = String.concat "\n" Decide.helpLines

            for usage in
                [
                    "RESUME <username> <token>"
                    "/token"
                    "/msg <user> <text>"
                    "/history after|before <id> [n]"
                ] do
                Expect.stringContains help usage "help line")
    ]
