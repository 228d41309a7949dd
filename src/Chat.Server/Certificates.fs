/// The server's certificate: given as PEM files, or generated self-signed into --cert-dir once.
module Chat.Server.Certificates

open System
open System.IO
open System.Net
open System.Security.Cryptography
open System.Security.Cryptography.X509Certificates

/// The certificate cannot be read or made; the message names the file and the fix.
exception CertificateProblem of string

/// SHA-256 of the DER bytes, as clients pin it: upper-case hex pairs joined by ':'.
let fingerprint (cert: X509Certificate2) =
    cert.GetCertHash(HashAlgorithmName.SHA256)
    |> Array.map (fun b -> b.ToString "X2")
    |> String.concat ":"

let private selfSigned () =
    use key = ECDsa.Create(ECCurve.NamedCurves.nistP256)
    let request = CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256)
    let san = SubjectAlternativeNameBuilder()
    san.AddDnsName "localhost"
    san.AddIpAddress IPAddress.Loopback
    san.AddIpAddress IPAddress.IPv6Loopback
    request.CertificateExtensions.Add(san.Build())
    request.CertificateExtensions.Add(X509BasicConstraintsExtension(false, false, 0, true))
    request.CertificateExtensions.Add(X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true))
    let serverAuth = OidCollection()
    serverAuth.Add(Oid "1.3.6.1.5.5.7.3.1") |> ignore
    request.CertificateExtensions.Add(X509EnhancedKeyUsageExtension(serverAuth, false))
    let now = DateTimeOffset.UtcNow
    use cert = request.CreateSelfSigned(now.AddDays -1.0, now.AddYears 5)
    cert.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem()

let private write (path: string) (content: string) (mode: UnixFileMode) =
    let tmp = path + ".tmp"
    File.WriteAllText(tmp, content)

    if not (OperatingSystem.IsWindows()) then
        File.SetUnixFileMode(tmp, mode)

    File.Move(tmp, path, true)

/// Instances of a local cluster share one --cert-dir and may start together: one generates,
/// the others wait for it on an exclusive lock file.
let rec private exclusive (path: string) (deadline: DateTime) : FileStream =
    try
        new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)
    with :? IOException when DateTime.UtcNow < deadline ->
        Threading.Thread.Sleep 50
        exclusive path deadline

let load (certFile: string) (keyFile: string) : X509Certificate2 =
    try
        let pem = X509Certificate2.CreateFromPemFile(certFile, keyFile)
        // Re-import: on some platforms SslStream needs a key it can persist, not an ephemeral one.
        X509CertificateLoader.LoadPkcs12(pem.Export X509ContentType.Pkcs12, null)
    with
    | :? FileNotFoundException
    | :? DirectoryNotFoundException as e ->
        raise (CertificateProblem $"cannot read the certificate or key: {e.Message} Check --cert and --key.")
    | :? CryptographicException
    | :? ArgumentException as e ->
        raise (CertificateProblem $"{certFile} / {keyFile} are not a PEM certificate and matching key: {e.Message}")
    | :? UnauthorizedAccessException as e ->
        raise (CertificateProblem $"cannot read the certificate or key: {e.Message}")

/// The certificate in `dir` (server.crt, server.key), generated self-signed on first use; and whether
/// it was generated now.
let loadOrCreate (dir: string) : X509Certificate2 * bool =
    let crt = Path.Combine(dir, "server.crt")
    let key = Path.Combine(dir, "server.key")

    let created =
        if File.Exists crt && File.Exists key then
            false
        else
            try
                Directory.CreateDirectory dir |> ignore
                use _lock = exclusive (Path.Combine(dir, ".lock")) (DateTime.UtcNow.AddSeconds 30.0)

                if File.Exists crt && File.Exists key then
                    false
                else
                    let certPem, keyPem = selfSigned ()
                    write key keyPem (UnixFileMode.UserRead ||| UnixFileMode.UserWrite)

                    write
                        crt
                        certPem
                        (UnixFileMode.UserRead
                         ||| UnixFileMode.UserWrite
                         ||| UnixFileMode.GroupRead
                         ||| UnixFileMode.OtherRead)

                    true
            with
            | :? UnauthorizedAccessException
            | :? IOException as e ->
                raise (CertificateProblem $"cannot create a certificate in {dir}: {e.Message}; check --cert-dir")

    load crt key, created
