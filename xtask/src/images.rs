//! `cargo xtask images [--profile release|dev] [postgres] [mariadb] [vaultref]`: the container
//! images, built here from Debian packages, so no registry is needed (none is reachable on this
//! project's machines).
//!
//! - `vaultref-test-postgres:SUITE` and `vaultref-test-mariadb:SUITE`: `debootstrap
//!   --variant=minbase` of the machine's Debian suite with the server package, an entry script
//!   (`xtask/images/*-entry.sh`), then `docker import`. Skipped when the image exists. The
//!   test kit starts them when `VAULTREF_TEST_POSTGRES_IMAGE` / `VAULTREF_TEST_MYSQL_IMAGE`
//!   name them (`cargo xtask ci` does).
//! - `vaultref:latest`: the release binary (`--profile dev`: the debug one, which CI builds
//!   anyway, instead of a second, optimised build of the whole tree), without its debug
//!   info, on a minimal Debian root (the Debian packages it links to), running `vaultref
//!   emulator --tls --port 8443 --state-dir /vaultref` on all interfaces. Rebuilt only when
//!   the binary changed (its hash is in the image's comment).
//!
//! Needs a reachable engine (`cargo xtask engine start`), root, `debootstrap` and `tar`.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context as _, Result, bail, ensure};

use crate::{run, workspace_root};

/// The emulator image; the tests read its name from `VAULTREF_TEST_EMULATOR_IMAGE`.
pub(crate) const VAULTREF_IMAGE: &str = "vaultref:latest";

/// A database server image made by debootstrap.
struct DatabaseImage {
    /// `postgres` or `mariadb`: the image is `vaultref-test-{kind}:{suite}`.
    kind: &'static str,
    /// The Debian package of the server.
    package: &'static str,
    port: u16,
    entry: &'static str,
    /// Shell commands run in the root (chroot) to drop what the server never loads.
    prune: &'static str,
}

const POSTGRES: DatabaseImage = DatabaseImage {
    kind: "postgres",
    package: "postgresql",
    port: 5432,
    entry: include_str!("../images/postgres-entry.sh"),
    // LLVM (and z3, which it links) is only for JIT compilation of large queries: a third of
    // the image. Without llvmjit.so PostgreSQL runs without JIT (the entry sets jit=off too).
    prune: "rm -f /usr/lib/*/libLLVM-*.so* /usr/lib/*/libz3.so* /usr/lib/postgresql/*/lib/llvmjit* \
            && rm -rf /usr/lib/postgresql/*/lib/bitcode",
};

const MARIADB: DatabaseImage = DatabaseImage {
    kind: "mariadb",
    package: "mariadb-server",
    port: 3306,
    entry: include_str!("../images/mariadb-entry.sh"),
    // The data folder the package's set-up made (a quarter of the image, mostly the redo log):
    // the entry makes a fresh one at first start.
    prune: "rm -rf /var/lib/mysql/*",
};

/// What a root made by debootstrap keeps that a server in a test container never reads: the
/// downloaded packages, apt's lists, documentation, manuals and translations.
const PRUNED: &[&str] = &[
    "var/cache/apt",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/log",
];

pub(crate) fn main(args: &[String]) -> Result<()> {
    let usage = "usage: cargo xtask images [--profile release|dev] [postgres] [mariadb] [vaultref]";
    let mut names: Vec<&str> = Vec::new();
    let mut profile = "release";
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile" => {
                profile = args.next().map_or("", String::as_str);
                ensure!(["release", "dev"].contains(&profile), "{usage}");
            }
            name @ ("postgres" | "mariadb" | "vaultref") => names.push(name),
            other => bail!("{usage} (got {other:?})"),
        }
    }
    let wanted = |name: &str| names.is_empty() || names.contains(&name);
    require_engine()?;
    let started = Instant::now();
    let databases: Vec<&DatabaseImage> = [&POSTGRES, &MARIADB]
        .into_iter()
        .filter(|image| wanted(image.kind))
        .collect();
    if !databases.is_empty() {
        let suite = suite()?;
        // Both bootstraps at once: they wait on downloads and dpkg more than on the CPU.
        let results: Vec<Result<()>> = std::thread::scope(|scope| {
            let handles: Vec<_> = databases
                .iter()
                .map(|image| scope.spawn(|| build_database_image(image, &suite)))
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|_| bail!("an image build panicked"))
                })
                .collect()
        });
        for result in results {
            result?;
        }
    }
    if wanted("vaultref") {
        build_vaultref_image(profile)?;
    }
    println!(
        "xtask images: done in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The name of the local PostgreSQL image, e.g. `vaultref-test-postgres:bookworm`.
pub(crate) fn postgres_image() -> Result<String> {
    Ok(POSTGRES.name(&suite()?))
}

/// The name of the local MariaDB image, e.g. `vaultref-test-mariadb:bookworm`.
pub(crate) fn mariadb_image() -> Result<String> {
    Ok(MARIADB.name(&suite()?))
}

impl DatabaseImage {
    fn name(&self, suite: &str) -> String {
        format!("vaultref-test-{}:{suite}", self.kind)
    }
}

fn build_database_image(image: &DatabaseImage, suite: &str) -> Result<()> {
    let name = image.name(suite);
    if image_exists(&name) {
        println!(
            "xtask images: {name} exists ({}), skipped",
            image_size(&name)
        );
        return Ok(());
    }
    let mirror = mirror(suite)?;
    let started = Instant::now();
    let scratch = scratch_dir()?;
    let root = Root::new(&scratch, image.kind)?;
    let log = scratch.join(format!("debootstrap-{}.log", image.kind));
    println!(
        "xtask images: {name}: debootstrap {suite} with {} from {mirror} (log: {})",
        image.package,
        log.display()
    );
    let status = Command::new("debootstrap")
        .args(["--variant=minbase", "--include", image.package, suite])
        .arg(&root.path)
        .arg(&mirror)
        .stdout(fs::File::create(&log).context("creating the debootstrap log")?)
        .stderr(fs::File::options().append(true).open(&log)?)
        .status()
        .context("running debootstrap (apt-get install debootstrap)")?;
    if !status.success() {
        bail!(
            "debootstrap for {name} failed with {status}; see {}",
            log.display()
        );
    }
    for pruned in PRUNED {
        let path = root.path.join(pruned);
        if path.exists() {
            fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
            fs::create_dir_all(&path)?;
        }
    }
    run(Command::new("chroot")
        .arg(&root.path)
        .args(["sh", "-c", image.prune]))?;
    write_executable(&root.path.join("usr/local/bin/entry"), image.entry)?;
    import(
        &root.path,
        &name,
        &[
            r#"CMD ["/usr/local/bin/entry"]"#.to_owned(),
            format!("EXPOSE {}", image.port),
        ],
        &format!(
            "vaultref test image: {} from Debian {suite} (cargo xtask images)",
            image.package
        ),
    )?;
    drop(root);
    println!(
        "xtask images: {name} built in {:.0}s ({})",
        started.elapsed().as_secs_f64(),
        image_size(&name)
    );
    Ok(())
}

fn build_vaultref_image(profile: &str) -> Result<()> {
    let bin = crate::build_vaultref_with(profile)?;
    // sha256sum, not the sha2 crate: xtask is an unoptimised build, and the debug binary is
    // 200 MB.
    let out = Command::new("sha256sum")
        .arg(&bin)
        .output()
        .context("running sha256sum")?;
    ensure!(out.status.success(), "sha256sum {} failed", bin.display());
    let hash = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    let comment = format!("vaultref binary ({profile}) sha256:{hash}");
    if image_comment(VAULTREF_IMAGE).is_some_and(|c| c.trim() == comment) {
        println!(
            "xtask images: {VAULTREF_IMAGE} holds this binary ({}), skipped",
            image_size(VAULTREF_IMAGE)
        );
        return Ok(());
    }
    let started = Instant::now();
    let scratch = scratch_dir()?;
    let root = Root::new(&scratch, "vaultref")?;
    copy_packages(&root.path, &linked_packages(&bin)?)?;
    let target = root.path.join("usr/local/bin/vaultref");
    fs::create_dir_all(target.parent().context("a parent")?)?;
    fs::copy(&bin, &target).context("copying vaultref into the image root")?;
    // Debug info is most of the file, and a backtrace keeps its function names without it.
    run(Command::new("strip").arg("--strip-debug").arg(&target))?;
    make_dir(&root.path.join("tmp"), 0o1777)?;
    // Where the emulator keeps its CA (ca.pem), credentials and secrets: mount a folder here
    // to read the CA from the host.
    make_dir(&root.path.join("vaultref"), 0o755)?;
    import(
        &root.path,
        VAULTREF_IMAGE,
        &[
            r#"ENTRYPOINT ["/usr/local/bin/vaultref"]"#.to_owned(),
            r#"CMD ["emulator", "--tls", "--port", "8443", "--state-dir", "/vaultref"]"#.to_owned(),
            "ENV VAULTREF_EMULATOR_LISTEN=0.0.0.0".to_owned(),
            "EXPOSE 8443".to_owned(),
        ],
        &comment,
    )?;
    drop(root);
    println!(
        "xtask images: {VAULTREF_IMAGE} built in {:.0}s ({})",
        started.elapsed().as_secs_f64(),
        image_size(VAULTREF_IMAGE)
    );
    Ok(())
}

/// The Debian packages holding the shared libraries `bin` loads (and the loader).
fn linked_packages(bin: &Path) -> Result<Vec<String>> {
    let out = Command::new("ldd")
        .arg(bin)
        .output()
        .context("running ldd")?;
    ensure!(out.status.success(), "ldd {} failed", bin.display());
    let mut packages: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux... (0x...)"
        let Some(path) = line.split_whitespace().find(|word| word.starts_with('/')) else {
            continue;
        };
        let package = owning_package(path)
            .with_context(|| format!("no Debian package holds {path}, which vaultref loads"))?;
        if !packages.contains(&package) {
            packages.push(package);
        }
    }
    ensure!(!packages.is_empty(), "ldd found no libraries for vaultref");
    Ok(packages)
}

/// The package that installed `path`, trying the path without and with `/usr` (Debian's
/// merged `/usr` lets a library be reached under both).
fn owning_package(path: &str) -> Option<String> {
    let aliases = [
        path.to_owned(),
        path.strip_prefix("/usr").unwrap_or(path).to_owned(),
        format!("/usr{path}"),
    ];
    aliases.iter().find_map(|alias| {
        let out = Command::new("dpkg").args(["-S", alias]).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let package = text.split(':').next()?.trim();
        (out.status.success() && !package.is_empty()).then(|| package.to_owned())
    })
}

/// Copies every file of `packages`, as installed on this machine, into `root`.
fn copy_packages(root: &Path, packages: &[String]) -> Result<()> {
    // Debian's merged /usr: /lib and /lib64 are links into /usr, copied as links; their
    // targets must exist for the files below them to land.
    for dir in ["usr/lib", "usr/lib64", "usr/bin", "usr/sbin"] {
        make_dir(&root.join(dir), 0o755)?;
    }
    let mut files = String::new();
    for package in packages {
        let out = Command::new("dpkg")
            .args(["-L", package])
            .output()
            .context("running dpkg -L")?;
        ensure!(out.status.success(), "dpkg -L {package} failed");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some(relative) = line.strip_prefix('/')
                && !relative.is_empty()
                && Path::new(line).symlink_metadata().is_ok()
            {
                files.push_str(relative);
                files.push('\n');
            }
        }
    }
    let list = root.with_extension("files");
    fs::write(&list, files)?;
    let mut pack = Command::new("tar")
        .args(["-C", "/", "--no-recursion", "-cf", "-", "-T"])
        .arg(&list)
        .stdout(Stdio::piped())
        .spawn()
        .context("running tar")?;
    let packed = pack.stdout.take().context("tar's output")?;
    run(Command::new("tar")
        .arg("-C")
        .arg(root)
        .arg("-xf")
        .arg("-")
        .stdin(packed))?;
    ensure!(pack.wait()?.success(), "tar of the packages failed");
    fs::remove_file(&list)?;
    Ok(())
}

/// `tar -C root -c . | docker import --change ... --message ... - name`.
fn import(root: &Path, name: &str, changes: &[String], message: &str) -> Result<()> {
    let started = Instant::now();
    let mut pack = Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(root)
        .args(["-cf", "-", "."])
        .stdout(Stdio::piped())
        .spawn()
        .context("running tar")?;
    let packed = pack.stdout.take().context("tar's output")?;
    let mut import = Command::new("docker");
    import.arg("import");
    for change in changes {
        import.args(["--change", change]);
    }
    import
        .args(["--message", message, "-", name])
        .stdin(packed)
        .stdout(Stdio::null());
    run(&mut import)?;
    ensure!(pack.wait()?.success(), "tar of the image root failed");
    println!(
        "xtask images: {name} imported in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// An image root in the scratch folder, removed on drop. debootstrap mounts /proc and /sys
/// inside it; they are unmounted first, so removal never reaches the machine's own.
struct Root {
    path: PathBuf,
}

impl Root {
    fn new(scratch: &Path, kind: &str) -> Result<Self> {
        let path = scratch.join(format!("root-{kind}"));
        let root = Self { path };
        root.remove();
        fs::create_dir_all(&root.path)
            .with_context(|| format!("creating {}", root.path.display()))?;
        Ok(root)
    }

    fn remove(&self) {
        let mounts = fs::read_to_string("/proc/mounts").unwrap_or_default();
        let prefix = format!("{}/", self.path.display());
        let mut below: Vec<&str> = mounts
            .lines()
            .filter_map(|line| line.split_whitespace().nth(1))
            .filter(|point| point.starts_with(&prefix))
            .collect();
        // Deepest first.
        below.sort_by_key(|point| std::cmp::Reverse(point.len()));
        let mut still_mounted = false;
        for point in below {
            let unmounted = Command::new("umount")
                .arg(point)
                .status()
                .is_ok_and(|s| s.success());
            still_mounted |= !unmounted;
        }
        if still_mounted {
            eprintln!(
                "xtask images: {} still has mounts below it; left in place",
                self.path.display()
            );
        } else if self.path.exists() {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        self.remove();
    }
}

fn scratch_dir() -> Result<PathBuf> {
    let dir = crate::target_dir(&workspace_root()).join("images");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn require_engine() -> Result<()> {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    if !crate::engine::answers(&host) {
        bail!(
            "no container engine answers at {host}: run `cargo xtask engine start` and export \
             the DOCKER_HOST it prints"
        );
    }
    Ok(())
}

pub(crate) fn image_exists(name: &str) -> bool {
    image_comment(name).is_some()
}

fn image_comment(name: &str) -> Option<String> {
    let out = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Comment}}", name])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn image_size(name: &str) -> String {
    Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Size}}", name])
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or_else(
            || "size unknown".to_owned(),
            |bytes| format!("{} MB", bytes / 1_000_000),
        )
}

/// The machine's Debian suite (`VERSION_CODENAME` of /etc/os-release), e.g. `bookworm`.
fn suite() -> Result<String> {
    let release = fs::read_to_string("/etc/os-release").context("reading /etc/os-release")?;
    release
        .lines()
        .find_map(|line| line.strip_prefix("VERSION_CODENAME="))
        .map(|name| name.trim_matches('"').to_owned())
        .filter(|name| !name.is_empty())
        .context("/etc/os-release names no VERSION_CODENAME: the images need a Debian machine")
}

/// The Debian mirror apt already uses for `suite` (`VAULTREF_DEBIAN_MIRROR` overrides it).
fn mirror(suite: &str) -> Result<String> {
    if let Ok(mirror) = std::env::var("VAULTREF_DEBIAN_MIRROR")
        && !mirror.is_empty()
    {
        return Ok(mirror);
    }
    let mut sources = vec![fs::read_to_string("/etc/apt/sources.list").unwrap_or_default()];
    if let Ok(dir) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            if path
                .extension()
                .is_some_and(|ext| ext == "sources" || ext == "list")
            {
                sources.push(fs::read_to_string(path).unwrap_or_default());
            }
        }
    }
    sources
        .iter()
        .find_map(|text| mirror_in(text, suite))
        .with_context(|| {
            format!(
                "no apt source for Debian {suite} found in /etc/apt; set VAULTREF_DEBIAN_MIRROR"
            )
        })
}

/// The first URI serving `suite` in a one-line (`deb URI SUITE ...`) or deb822 sources text.
fn mirror_in(text: &str, suite: &str) -> Option<String> {
    for line in text.lines() {
        let words: Vec<&str> = line
            .split_whitespace()
            .filter(|w| !w.starts_with('['))
            .collect();
        if words.first() == Some(&"deb") && words.get(2) == Some(&suite) {
            return words.get(1).map(|uri| (*uri).to_owned());
        }
    }
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::trim)
        };
        let serves =
            field("Suites:").is_some_and(|suites| suites.split_whitespace().any(|s| s == suite));
        let is_deb =
            field("Types:").is_some_and(|types| types.split_whitespace().any(|t| t == "deb"));
        if serves && is_deb {
            return field("URIs:")?.split_whitespace().next().map(str::to_owned);
        }
    }
    None
}

fn write_executable(path: &Path, text: &str) -> Result<()> {
    fs::create_dir_all(path.parent().context("a parent")?)?;
    let mut file = fs::File::create(path).with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    set_mode(path, 0o755)
}

fn make_dir(path: &Path, mode: u32) -> Result<()> {
    fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    set_mode(path, mode)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the mode of {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirror_comes_from_either_sources_format() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n";
        assert_eq!(
            mirror_in(deb822, "bookworm").as_deref(),
            Some("http://mirror.example/debian")
        );
        let one_line = "# comment\ndeb [arch=amd64] http://mirror.example/debian bookworm main\n";
        assert_eq!(
            mirror_in(one_line, "bookworm").as_deref(),
            Some("http://mirror.example/debian")
        );
        assert_eq!(mirror_in(one_line, "trixie"), None);
    }
}
