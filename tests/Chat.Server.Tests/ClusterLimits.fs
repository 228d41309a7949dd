namespace Chat.Server.Tests

open Expecto
open Chat.Testing
open ClusterTesting

/// Failed logins are counted across all instances (PROTOCOL.md "Before login", `--login-failures`).
module ClusterLoginLimits =
    /// Each test starts with no failed logins counted (they are kept a minute).
    let private forgetFailures (this: ClusterFixture) =
        let keys = this.Redis.Command [ "KEYS"; "chat:*:failed" ]

        if not (isNull keys) && keys <> "" then
            this.Redis.Command("DEL" :: List.ofArray (keys.Split '\n')) |> ignore

    [<Tests>]
    let tests =
        ClusterSuite.tests "ClusterLoginLimits" ([ "--login-failures"; "2" ], 2, "limit") [
            case "failed logins on one instance make the other answer RATE_LIMITED, even to the right password"
            <| fun (this: ClusterFixture) ->
                forgetFailures this
                let c = this.Cluster
                let first, name = c.User(1, "victim")
                Expect.equal (first.Command "/quit") "OK QUIT" "first.Command '/quit'"
                let other, otherName = c.User(2, "bystander")
                Expect.equal (other.Command "/quit") "OK QUIT" "other.Command '/quit'"
                let one = c.Connect(1, "guesser")

                for guess in [ "wrong-one"; "wrong-two" ] do
                    Expect.stringStarts
                        (one.Command $"LOGIN {name} {guess}")
                        "ERR AUTH_FAILED "
                        "one.Command $'LOGIN {name} {guess}'"

                let two = c.Connect(2, "owner")

                Expect.stringStarts
                    (two.Command $"LOGIN {name} {Cluster.Password}")
                    "ERR RATE_LIMITED "
                    "two.Command $'LOGIN {name} {Cluster.Password}'"

                Expect.stringStarts
                    (one.Command $"LOGIN {name} {Cluster.Password}")
                    "ERR RATE_LIMITED "
                    "one.Command $'LOGIN {name} {Cluster.Password}'"

                Expect.stringStarts (two.Command "/who") "ERR NOT_LOGGED_IN " "two.Command '/who'"
                // The limit is the user's: another account logs in on either instance.
                Expect.equal
                    (two.Command $"LOGIN {otherName} {Cluster.Password}")
                    $"OK LOGIN {otherName} lobby"
                    "two.Command $'LOGIN {otherName} {Cluster.Password}'"

                Expect.notContains (users two) name "users two"

            case "failed logins from one address count on every instance"
            <| fun (this: ClusterFixture) ->
                forgetFailures this
                let c = this.Cluster
                let victim, name = c.User(2, "fresh")
                Expect.equal (victim.Command "/quit") "OK QUIT" "victim.Command '/quit'"
                // 4 n = 8 failures from 127.0.0.1, each for another unknown user, half on each instance.
                for i in 1..8 do
                    let client = c.Connect(1 + i % 2, "guesser")

                    Expect.stringStarts
                        (client.Command $"LOGIN nobody{i} wrong-password")
                        "ERR AUTH_FAILED "
                        "client.Command $'LOGIN nobody{i} wrong-password'"

                for node in [ 1; 2 ] do
                    let client = c.Connect(node, "owner")

                    Expect.stringStarts
                        (client.Command $"LOGIN {name} {Cluster.Password}")
                        "ERR RATE_LIMITED "
                        "client.Command $'LOGIN {name} {Cluster.Password}'"
        ]
