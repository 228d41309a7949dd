/// `Login`: the failure limits, what a password check means, how a claim ends, the fenced move.
module Chat.Domain.Tests.LoginTests

open Expecto
open FsCheck
open FsCheck.FSharp
open Chat.Domain
open Chat.Domain.Tests.Builders
open Chat.Tests.Cases

let private alice = user "alice"
let private mine = sid "s-new"
let private old = sid "s-old"
let private welcome = LoggedIn(alice, lobby)

let private rateLimited =
    Login.Refused(LoginOutcome.RateLimited, Err(RateLimited, "too many failed logins; wait a minute and try again"))

let private authFailed =
    Login.RecordFailure(LoginOutcome.AuthFailed, Err(AuthFailed, "unknown user or wrong password"))

/// The claims shared state can answer under a policy: only `Reject` refuses, only `ForceLogout` evicts.
let private claimUnder policy =
    let evicted =
        Gen.zip Gens.sessionId Gens.roomName
        |> Gen.map (fun (s, r) ->
            Some {
                Sid = s
                Server = "other"
                Rooms = [ r ]
            })

    match policy with
    | Reject -> Gen.elements [ Login.HeldElsewhere; Login.Taken None; Login.Overtaken ]
    | ForceLogout ->
        Gen.oneof [
            Gen.elements [ Login.Taken None; Login.Overtaken ]
            evicted |> Gen.map Login.Taken
        ]

let private welcomes (steps: Login.Step list) =
    steps
    |> List.exists (function
        | Login.AwaitWelcome
        | Login.Answer(Ok _) -> true
        | _ -> false)

let private rejects (steps: Login.Step list) =
    steps
    |> List.contains (
        Login.Answer(Err(DuplicateLogin, "alice is logged in elsewhere and this server rejects a second login"))
    )

[<Tests>]
let tests =
    testList "LoginTests" [
        testCases
            "failures below both limits admit, reaching either refuses (limit, by name, by address, admitted)"
            [
                (0, 1000, 1000, true)
                (5, 0, 0, true)
                (5, 4, 19, true)
                (5, 5, 0, false)
                (5, 0, 20, false)
                (1, 0, 3, true)
                (1, 1, 0, false)
                (1, 0, 4, false)
            ]
            (fun (limit, byUser, byAddress, admitted) ->
                Login.admit limit byUser byAddress
                =! (if admitted then Login.Admitted else rateLimited))

        chatProperty "admitted exactly when there is no limit or both counts are below theirs"
        <| fun (NonNegativeInt limit) (NonNegativeInt byUser) (NonNegativeInt byAddress) ->
            (Login.admit limit byUser byAddress = Login.Admitted) =
                (limit = 0 || (byUser < limit && byAddress < 4 * limit))

        testCase "a matching password claims the name" (fun () -> Login.verdict Login.Matches =! Login.ClaimName)

        testCases
            "an unknown user and a wrong password record a failure and answer alike"
            [ Login.WrongPassword; Login.UnknownUser ]
            (fun check -> Login.verdict check =! authFailed)

        testCase "a name held elsewhere under reject is DUPLICATE_LOGIN and nothing else" (fun () ->
            Login.claimed alice welcome Login.HeldElsewhere
            =! {
                   Outcome = LoginOutcome.DuplicateRejected
                   Steps = [
                       Login.Answer(
                           Err(DuplicateLogin, "alice is logged in elsewhere and this server rejects a second login")
                       )
                   ]
               })

        testCase "a claim with no earlier session enters the lobby, is welcomed with the entry, starts" (fun () ->
            Login.claimed alice welcome (Login.Taken None)
            =! {
                   Outcome = LoginOutcome.Ok
                   Steps = [ Login.Enter; Login.AwaitWelcome; Login.Start ]
               })

        testCase "a claim that evicted a session ends it before the entry" (fun () ->
            let evicted = {
                Sid = old
                Server = "other"
                Rooms = [ room "den" ]
            }

            Login.claimed alice welcome (Login.Taken(Some evicted))
            =! {
                   Outcome = LoginOutcome.Ok
                   Steps = [ Login.Evict evicted; Login.Enter; Login.AwaitWelcome; Login.Start ]
               })

        testCases
            "a claim a newer login overtook is welcomed, then forced out and closed, never started"
            [ LoggedIn(alice, lobby); Registered(alice, lobby) ]
            (fun success ->
                Login.claimed alice success Login.Overtaken
                =! {
                       Outcome = LoginOutcome.Ok
                       Steps = [
                           Login.Answer(Ok success)
                           Login.CloseWith(Sys(ForcedLogout "Logged in from another location."))
                       ]
                   })

        chatProperty "under either policy a claim welcomes or rejects, never both"
        <| fun (policy: DuplicateLoginPolicy) ->
            Prop.forAll (Arb.fromGen (claimUnder policy)) (fun claim ->
                let steps = (Login.claimed alice welcome claim).Steps
                welcomes steps <> rejects steps)

        testCase "a move shared state took answers the reply and moves the session" (fun () ->
            Login.moved (room "den") (Joined(room "den")) true
            =! Login.Moved(Ok(Joined(room "den")), MovedTo(room "den")))

        testCase "a fenced move tells the session to log in again and changes nothing" (fun () ->
            Login.moved lobby (Left(room "den")) false
            =! Login.Fenced(Err(Unavailable, "this session was taken over or expired; log in again")))
    ]
