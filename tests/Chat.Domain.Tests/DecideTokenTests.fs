/// `Decide.decide` for resume tokens, direct messages and history pages.
module Chat.Domain.Tests.DecideTokenTests

open Expecto
open Chat.Domain
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

let private alice = user "alice"
let private games = room "games"

let private token =
    ResumeToken.tryCreate "Zm9vYmFyYmF6cXV4LXRva2VuLTAxMjM0NTY3ODk_" |> Option.get

let private inGames = active "alice" "games"

let private holding =
    Active {
        activeIn "alice" "games" with
            Token = Some token
    }

/// The effects of a line that must leave the session as it was.
let private effectsOf state line =
    let after, effects = decide state line
    after =! state
    effects

[<Tests>]
let tests =
    testList "DecideTokenTests" [
        testCase "RESUME before login asks to resume and leaves the session anonymous" (fun () ->
            decide Anonymous $"RESUME Alice {ResumeToken.value token}"
            =! (Anonymous, [ Effect.Resume(alice, token) ]))

        testCases
            "bad arguments of RESUME are BAD_ARGUMENT before login"
            [
                "RESUME"
                "RESUME alice"
                "RESUME b@d abcdefghijklmnop"
                "RESUME alice short"
                "RESUME alice a b"
            ]
            (fun (line: string) ->
                let state, effects = decide Anonymous line
                (state, errorCode effects) =! (Anonymous, Some BadArgumentCode))

        testCases
            "RESUME after login is ALREADY_LOGGED_IN"
            [ $"RESUME alice {ResumeToken.value token}"; "RESUME"; "RESUME alice short" ]
            (fun (line: string) ->
                effectsOf inGames line
                =! [ errReply AlreadyLoggedIn "this connection is logged in already" ])

        testCases
            "before login, the new commands are NOT_LOGGED_IN"
            [
                "/token"
                "/token x"
                "/msg bob hi"
                "/msg"
                "/history after 1-0"
                "/history before"
            ]
            (fun (line: string) ->
                decide Anonymous line
                =! (Anonymous, [ errReply NotLoggedIn Decide.notLoggedIn ]))

        testCase "/token without a token held asks for one" (fun () ->
            effectsOf inGames "/token" =! [ IssueToken alice ])

        testCase "/token with a token held answers it again" (fun () ->
            effectsOf holding "/token" =! [ okReply (TokenIssued token) ])

        testCase "/quit revokes a held token between the reply and the close" (fun () ->
            effectsOf holding "/quit"
            =! [ okReply QuitDone; RevokeToken(alice, token); CloseConnection ])

        testCase "/quit without a token revokes nothing" (fun () ->
            effectsOf inGames "/quit" =! [ okReply QuitDone; CloseConnection ])

        testCase "/msg sends a direct message" (fun () ->
            snd (decide inGames "/msg Bob  hello there ")
            =! [ SendDirect(alice, user "bob", "hello there ") ])

        testCase "/msg to myself is BAD_ARGUMENT" (fun () ->
            effectsOf inGames "/msg ALICE hi"
            =! [ errReply BadArgumentCode "you cannot send a direct message to yourself" ])

        testCase "a direct message spends a token of the message rate" (fun () ->
            match decide inGames "/msg bob hi" with
            | Active a, _ -> a.Bucket.Tokens =! 99.0
            | other, _ -> failtestf "not active: %A" other)

        testCase "history pages ask for the current room" (fun () ->
            let id = msgId "1700000000000-3"

            effectsOf inGames "/history after 1700000000000-3"
            =! [ Ask(ShowHistoryAfter(games, id, 20)) ]

            effectsOf inGames "/history before 1700000000000-3 5"
            =! [ Ask(ShowHistoryBefore(games, id, 5)) ]

            effectsOf inGames "/history AFTER 1700000000000-3 1000"
            =! [ Ask(ShowHistoryAfter(games, id, 100)) ])

        testCases
            "bad arguments of the new commands are BAD_ARGUMENT"
            [
                "/token now"
                "/msg"
                "/msg bob"
                "/msg bob   "
                "/msg b@d hi"
                "/history after"
                "/history after abc"
                "/history before 12"
                "/history after 1-2 0"
                "/history before 1-2 x"
            ]
            (fun (line: string) -> errorCode (effectsOf inGames line) =! Some BadArgumentCode)
    ]
