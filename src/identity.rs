//! Who is acting: the operating system's account of the real uid, never an environment variable
//! (`USER=admin driftdeck` must not make anyone an admin; issue 11 #7).
//!
//! What enforces what (see README "Identity, roles and audit"): the console's roles and
//! `--read-only` are a guard for honest users on a shared workstation; the authority in production
//! is the cluster's RBAC (who may create Jobs in the namespace) and Snowflake's grants (who may
//! write `PCI_CSI_*`). Anyone who can run the binary can also write the SQLite file directly.

/// The OS user name of the real uid from the password database (`getpwuid_r`), else `uid-<n>`
/// (a container without an `/etc/passwd` entry for its uid). `$USER` and `$LOGNAME` are ignored:
/// anyone can set them.
pub fn os_user() -> String {
    // SAFETY: getuid never fails; getpwuid_r writes into our buffers only, and the name pointer
    // is read only when the call succeeded and returned an entry.
    unsafe {
        let uid = libc::getuid();
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc == 0
            && !result.is_null()
            && !pwd.pw_name.is_null()
            && let Ok(name) = std::ffi::CStr::from_ptr(pwd.pw_name).to_str()
            && !name.is_empty()
        {
            return name.to_string();
        }
        format!("uid-{uid}")
    }
}
