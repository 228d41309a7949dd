/// What a refused connection says: each failure names its fix.
module Chat.Client.Tests.TrustTests

open System.Security.Cryptography.X509Certificates
open NUnit.Framework
open Chat.Client

let private presented = {
    Fingerprint = "AB:CD:EF"
    Names = [ "localhost"; "127.0.0.1" ]
}

let private explain trust hint error = ConnectError.explain trust hint error

[<Test>]
let ``a wrong pin names --pin and shows the fingerprint the server presented`` () =
    let text = explain (Pinned [| 1uy |]) None (WrongPin presented)
    Assert.That(text, Does.Contain "--pin")
    Assert.That(text, Does.Contain "AB:CD:EF")

[<Test>]
let ``an untrusted certificate with --ca names the file, the problems, and both fixes`` () =
    let text =
        explain
            (CaFile "other.crt")
            None
            (Untrusted([ X509ChainStatusFlags.UntrustedRoot; X509ChainStatusFlags.NotTimeValid ], presented))

    Assert.That(
        text,
        Does.StartWith "certificate not trusted by other.crt (unknown or self-signed issuer, expired or not yet valid)"
    )

    Assert.That(text, Does.Contain "--ca")
    Assert.That(text, Does.Contain "--pin")
    Assert.That(text, Does.EndWith "SHA-256 AB:CD:EF")

[<Test>]
let ``an untrusted certificate against the system store offers the local certificate when there is one`` () =
    let text =
        explain SystemStore (Some "certs/server.crt") (Untrusted([ X509ChainStatusFlags.PartialChain ], presented))

    Assert.That(text, Does.Contain "(issuer not found)")
    Assert.That(text, Does.Contain "pass --ca certs/server.crt or --pin")

    let without = explain SystemStore None (Untrusted([], presented))
    Assert.That(without, Does.StartWith "certificate not trusted: pass --ca <CA or server certificate file> or --pin")

[<Test>]
let ``a problem reported twice is listed once`` () =
    let text =
        explain SystemStore None (Untrusted([ X509ChainStatusFlags.Revoked; X509ChainStatusFlags.Revoked ], presented))

    Assert.That(text, Does.StartWith "certificate not trusted (revoked):")

[<Test>]
let ``a name mismatch lists the names the certificate has, or says it has none`` () =
    let text = explain SystemStore None (WrongName("example.org", presented))
    Assert.That(text, Does.StartWith "certificate is not valid for example.org (it names localhost, 127.0.0.1)")
    Assert.That(text, Does.Contain "--host")
    Assert.That(text, Does.Contain "--pin")

    let none =
        explain SystemStore None (WrongName("example.org", { presented with Names = [] }))

    Assert.That(none, Does.Contain "(it names no host names)")

[<Test>]
let ``connection, handshake and CA file failures say where and why`` () =
    Assert.That(
        explain SystemStore None (CannotConnect("h", 9, "Connection refused")),
        Is.EqualTo "cannot connect to h:9: Connection refused"
    )

    Assert.That(
        explain SystemStore None (HandshakeFailed("h", 9, "no answer within 10 s")),
        Is.EqualTo "TLS handshake with h:9 failed: no answer within 10 s"
    )

    Assert.That(
        explain (CaFile "x.pem") None (BadCaFile("x.pem", "no PEM certificate in it")),
        Is.EqualTo "cannot use --ca x.pem: no PEM certificate in it"
    )

    Assert.That(explain SystemStore None NoCertificate, Does.Contain "no certificate")
