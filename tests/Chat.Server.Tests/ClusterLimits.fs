namespace Chat.Server.Tests

open NUnit.Framework
open ClusterTesting

/// Failed logins are counted across all instances (PROTOCOL.md "Before login", `--login-failures`).
[<TestFixture>]
type ClusterLoginLimits() =
    inherit ClusterFixture([ "--login-failures"; "2" ], 2, "limit")

    /// Each test starts with no failed logins counted (they are kept a minute).
    [<SetUp>]
    member this.ForgetFailures() =
        let keys = this.Redis.Command [ "KEYS"; "chat:fail:*" ]

        if not (isNull keys) && keys <> "" then
            this.Redis.Command("DEL" :: List.ofArray (keys.Split '\n')) |> ignore

    [<Test>]
    member this.``failed logins on one instance make the other answer RATE_LIMITED, even to the right password``() =
        let c = this.Cluster
        let first, name = c.User(1, "victim")
        Assert.That(first.Command "/quit", Is.EqualTo "OK QUIT")
        let other, otherName = c.User(2, "bystander")
        Assert.That(other.Command "/quit", Is.EqualTo "OK QUIT")
        let one = c.Connect(1, "guesser")

        for guess in [ "wrong-one"; "wrong-two" ] do
            Assert.That(one.Command $"LOGIN {name} {guess}", Does.StartWith "ERR AUTH_FAILED ")

        let two = c.Connect(2, "owner")
        Assert.That(two.Command $"LOGIN {name} {Cluster.Password}", Does.StartWith "ERR RATE_LIMITED ")
        Assert.That(one.Command $"LOGIN {name} {Cluster.Password}", Does.StartWith "ERR RATE_LIMITED ")
        Assert.That(two.Command "/who", Does.StartWith "ERR NOT_LOGGED_IN ")
        // The limit is the user's: another account logs in on either instance.
        Assert.That(two.Command $"LOGIN {otherName} {Cluster.Password}", Is.EqualTo $"OK LOGIN {otherName} lobby")
        Assert.That(users two, Does.Not.Contain name)

    [<Test>]
    member this.``failed logins from one address count on every instance``() =
        let c = this.Cluster
        let victim, name = c.User(2, "fresh")
        Assert.That(victim.Command "/quit", Is.EqualTo "OK QUIT")
        // 4 n = 8 failures from 127.0.0.1, each for another unknown user, half on each instance.
        for i in 1..8 do
            let client = c.Connect(1 + i % 2, "guesser")
            Assert.That(client.Command $"LOGIN nobody{i} wrong-password", Does.StartWith "ERR AUTH_FAILED ")

        for node in [ 1; 2 ] do
            let client = c.Connect(node, "owner")
            Assert.That(client.Command $"LOGIN {name} {Cluster.Password}", Does.StartWith "ERR RATE_LIMITED ")
