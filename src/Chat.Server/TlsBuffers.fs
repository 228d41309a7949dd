namespace Chat.Server

open System
open System.Net.Security
open System.Reflection
open System.Runtime.InteropServices

/// OpenSSL keeps a TLS connection's record buffers (about 20 KiB) for its whole life unless told
/// `SSL_MODE_RELEASE_BUFFERS`, which frees them whenever nothing is pending: an idle logged-in
/// connection then holds 63 KiB instead of 86 (bench connections, 2,000). SslStream does not set it
/// and has no public handle; on Linux its security context is the `SSL*` itself. The mode is set
/// only where that shape is found (checked once), else nothing is done and `Available` says so.
module internal TlsBuffers =
    [<DllImport("libssl.so.3")>]
    extern int64 private SSL_ctrl(nativeint ssl, int cmd, int64 larg, nativeint parg)

    [<Literal>]
    let private SslCtrlMode = 33

    [<Literal>]
    let private SslModeReleaseBuffers = 0x10L

    let private context =
        let field =
            typeof<SslStream>.GetField("_securityContext", BindingFlags.NonPublic ||| BindingFlags.Instance)

        let isSslHandle =
            not (isNull field)
            && OperatingSystem.IsLinux()
            && field.FieldType.FullName = "System.Net.Security.SafeDeleteSslContext"
            && typeof<SafeHandle>.IsAssignableFrom field.FieldType
            // No state of its own beside SafeHandle's: the handle is the SSL object.
            && field.FieldType
                .GetFields(
                    BindingFlags.Instance
                    ||| BindingFlags.NonPublic
                    ||| BindingFlags.Public
                    ||| BindingFlags.DeclaredOnly
                )
                .Length
                =
                0
            && field.FieldType.BaseType
                .GetFields(BindingFlags.Instance ||| BindingFlags.NonPublic ||| BindingFlags.DeclaredOnly)
                .Length
                =
                0

        if isSslHandle then Some field else None

    /// Whether this runtime's SslStream has the shape `releaseWhenIdle` needs.
    let available = context.IsSome

    /// Sets `SSL_MODE_RELEASE_BUFFERS` on an authenticated stream; false when it could not.
    let releaseWhenIdle (ssl: SslStream) : bool =
        match context |> Option.map (fun f -> f.GetValue ssl) with
        | Some(:? SafeHandle as handle) when not handle.IsInvalid ->
            let mutable added = false

            try
                handle.DangerousAddRef(&added)

                SSL_ctrl(handle.DangerousGetHandle(), SslCtrlMode, SslModeReleaseBuffers, 0n)
                &&& SslModeReleaseBuffers
                <> 0L
            finally
                if added then
                    handle.DangerousRelease()
        | _ -> false
