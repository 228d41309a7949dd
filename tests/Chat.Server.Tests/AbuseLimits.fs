namespace Chat.Server.Tests

open System
open System.Threading
open Expecto
open Chat.Testing
open ClusterTesting

/// `--register-rate`: accounts REGISTER creates per peer address per hour; past it `ERR RATE_LIMITED`.
module E2eRegisterRate =
    [<Tests>]
    let tests =
        ServerSuite.tests "E2eRegisterRate" [ "--register-rate"; "2" ] [
            case "the third REGISTER from one address in an hour answers RATE_LIMITED; logins still work"
            <| fun (this: ServerFixture) ->
                let first, firstName = this.User "reg"
                Expect.equal (first.Command "/quit") "OK QUIT" "first.Command '/quit'"
                // A name that is taken creates no account, so it counts nothing.
                let taken = this.Connect "taken"

                Expect.stringStarts
                    (taken.Command $"REGISTER {firstName} {ServerFixture.Password}")
                    "ERR USER_EXISTS "
                    "REGISTER of a taken name"

                this.User "reg" |> ignore
                let third = this.Connect "third"
                let name = this.Name "reg"

                Expect.stringStarts
                    (third.Command $"REGISTER {name} {ServerFixture.Password}")
                    "ERR RATE_LIMITED "
                    "the third REGISTER"

                // Nothing was created, and the connection goes on.
                Expect.stringStarts
                    (third.Command $"LOGIN {name} {ServerFixture.Password}")
                    "ERR AUTH_FAILED "
                    "LOGIN as the refused name"

                Expect.equal
                    (third.Command $"LOGIN {firstName} {ServerFixture.Password}")
                    $"OK LOGIN {firstName} lobby"
                    "LOGIN as an account made before"
        ]

/// `--max-conns`: past this instance's total, a new connection is closed, whatever its address.
module E2eMaxConns =
    let private refused (port: int) =
        use tcp = Raw.connect port
        let received, closed, error = Raw.readToEnd tcp
        Expect.isTrue closed "the connection over the limit is still open"
        Expect.isEmpty received error

    [<Tests>]
    let tests =
        ServerSuite.tests "E2eMaxConns" [ "--max-conns"; "2"; "--max-conns-per-address"; "0" ] [
            case "the connection over the instance's limit is closed before TLS; a freed place can be taken again"
            <| fun (this: ServerFixture) ->
                let first = this.Connect "first"
                this.Connect "second" |> ignore
                refused this.Server.Port

                Poll.until (TimeSpan.FromSeconds 10.0) "the refusal in the server's log" (fun () ->
                    this.Server.Output
                    |> List.exists (fun l -> l.Contains "connection refused: too many connections"))

                Expect.equal (first.Command "/quit") "OK QUIT" "first.Command '/quit'"
                first.WaitClosed()
                let deadline = DateTime.UtcNow.AddSeconds 10.0
                let mutable again = None

                while again.IsNone && DateTime.UtcNow < deadline do
                    try
                        again <- Some(this.Connect "again")
                    with _ ->
                        Thread.Sleep 50 // the server counts the connection out once its session has ended

                Expect.isTrue again.IsSome "a place was freed by /quit"
                refused this.Server.Port
        ]

/// REGISTER per address is counted in Redis: every instance sees the accounts made on the others.
module ClusterRegisterRate =
    [<Tests>]
    let tests =
        ClusterSuite.tests "ClusterRegisterRate" ([ "--register-rate"; "2" ], 2, "reg") [
            case "accounts registered on both instances count toward one limit per address"
            <| fun (this: ClusterFixture) ->
                let c = this.Cluster
                c.User(1, "one") |> ignore
                c.User(2, "two") |> ignore

                for node in [ 1; 2 ] do
                    let client = c.Connect(node, "late")
                    let name = c.Name "late"

                    Expect.stringStarts
                        (client.Command $"REGISTER {name} {Cluster.Password}")
                        "ERR RATE_LIMITED "
                        $"REGISTER on node {node}"

                Expect.stringStarts
                    (this.Redis.Command [ "TTL"; "chat:{a:127.0.0.1}:registered" ])
                    "3"
                    "the count expires within the hour"
        ]
