//! The one place that chooses the backend a command runs on: `--backend cpu|cuda|wgpu`
//! and `--device N`, for `run`, `eval`, `infer` and `export`.
//!
//! A command hands its backend-generic work to [`BackendArgs::run`] (any backend) or
//! [`BackendArgs::train`] (an autodiff backend, optionally with gradient
//! checkpointing) as a value implementing [`OnBackend`] / [`OnAutodiff`]; this module
//! resolves the device first, so a missing driver or adapter is the coded error E0507
//! (exit [`EXIT_DEVICE`](super::EXIT_DEVICE)) before any work starts, and a backend this binary was built
//! without is E0505 (exit [`EXIT_USAGE`]).
//!
//! - `cpu`: Burn's flex backend; inference also gets the CPU kernel selection.
//! - `cuda`: NVIDIA GPUs through burn-cuda (build with `--features cuda`); the CUDA
//!   libraries are loaded when the device is first used.
//! - `wgpu`: any Vulkan, Metal or DX12 GPU through burn-wgpu (`--features wgpu`); `--device
//!   N` is the N-th adapter of the platform's graphics API, as `resc devices` lists them.

#[cfg(any(feature = "cuda", feature = "wgpu"))]
use super::EXIT_DEVICE;
use super::{Exit, EXIT_USAGE};
use crate::diag::{Code, Diagnostic};
use crate::lower::Network;
use burn::backend::autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::{AutodiffBackend, Backend};
use clap::ValueEnum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum BackendKind {
    /// The CPU (Burn's flex backend).
    Cpu,
    /// NVIDIA GPUs (burn-cuda; a build with `--features cuda`).
    Cuda,
    /// Vulkan, Metal or DX12 GPUs (burn-wgpu; a build with `--features wgpu`).
    Wgpu,
}

impl BackendKind {
    pub(super) fn name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Cuda => "cuda",
            BackendKind::Wgpu => "wgpu",
        }
    }
}

/// `--backend` and `--device`, shared by every command that runs a network.
#[derive(clap::Args, Clone, Copy, Debug)]
pub(super) struct BackendArgs {
    /// cpu (Burn's flex backend), cuda (NVIDIA; a build with `--features cuda`) or wgpu
    /// (Vulkan/Metal/DX12; a build with `--features wgpu`).
    #[arg(long, value_enum, default_value = "cpu")]
    pub(super) backend: BackendKind,
    /// The GPU to use with `--backend cuda|wgpu` (`resc devices` lists them).
    #[arg(long, default_value_t = 0)]
    pub(super) device: usize,
}

/// Work that runs on any backend (evaluation, inference, export).
pub(super) trait OnBackend {
    type Output;
    fn run<B: Backend>(self, device: &B::Device) -> Result<Self::Output, Exit>;
}

/// Work that needs gradients (training).
pub(super) trait OnAutodiff {
    type Output;
    fn run<B: AutodiffBackend>(self, device: &B::Device) -> Result<Self::Output, Exit>;
}

impl BackendArgs {
    /// Runs `job` on the chosen backend and device.
    pub(super) fn run<J: OnBackend>(&self, job: J) -> Result<J::Output, Exit> {
        match self.backend {
            BackendKind::Cpu => job.run::<Flex>(&Default::default()),
            #[cfg(feature = "cuda")]
            BackendKind::Cuda => {
                let device = cuda_device(self.device)?;
                job.run::<burn::backend::Cuda>(&device)
            }
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => {
                let device = wgpu_device(self.device)?;
                job.run::<burn::backend::Wgpu>(&device)
            }
            #[allow(unreachable_patterns)]
            other => Err(not_compiled_in(other)),
        }
    }

    /// Runs `job` on the chosen backend and device under autodiff, recomputing
    /// activations in the backward pass with `checkpointing` (Burn's balanced strategy).
    pub(super) fn train<J: OnAutodiff>(
        &self,
        checkpointing: bool,
        job: J,
    ) -> Result<J::Output, Exit> {
        /// Both autodiff flavours of one inner backend.
        fn on<B: Backend, J: OnAutodiff>(
            checkpointing: bool,
            job: J,
            device: &B::Device,
        ) -> Result<J::Output, Exit> {
            if checkpointing {
                job.run::<Autodiff<B, BalancedCheckpointing>>(device)
            } else {
                job.run::<Autodiff<B>>(device)
            }
        }
        match self.backend {
            BackendKind::Cpu => on::<Flex, J>(checkpointing, job, &Default::default()),
            #[cfg(feature = "cuda")]
            BackendKind::Cuda => {
                let device = cuda_device(self.device)?;
                on::<burn::backend::Cuda, J>(checkpointing, job, &device)
            }
            #[cfg(feature = "wgpu")]
            BackendKind::Wgpu => {
                let device = wgpu_device(self.device)?;
                on::<burn::backend::Wgpu, J>(checkpointing, job, &device)
            }
            #[allow(unreachable_patterns)]
            other => Err(not_compiled_in(other)),
        }
    }

    /// E0509 when the CPU cannot even hold the network's tensors `copies` times
    /// (1 to run it; training keeps weights, gradients and optimiser state): a network
    /// of hundreds of gigabytes (`--set width=100000`) is refused before the allocation
    /// that would abort the process. GPU memory is the device's, not checked here.
    pub(super) fn check_memory(&self, network: &Network, copies: u64) -> Result<(), Exit> {
        if self.backend != BackendKind::Cpu {
            return Ok(());
        }
        let Some(available) = available_memory() else {
            return Ok(());
        };
        let needed = network.tensor_bytes().map(|b| b.saturating_mul(copies));
        if needed.is_some_and(|n| n <= available) {
            return Ok(());
        }
        let gib = |b: u64| b as f64 / f64::from(1u32 << 30);
        let size = match network.tensor_bytes() {
            Some(b) => format!("{:.1} GiB of weights", gib(b)),
            None => "more weights than 64 bits can count".to_string(),
        };
        Err(super::fail(
            Diagnostic::error(
                Code::E0509,
                format!("`{}` does not fit in memory: {size}", network.name),
            )
            .note(format!(
                "{copies} cop{} needed, {:.1} GiB of memory available",
                if copies == 1 { "y" } else { "ies" },
                gib(available)
            ))
            .hint("`resc check FILE` shows the parameters per stage; choose smaller widths with `--set`"),
            super::EXIT_USAGE,
        ))
    }
}

/// Memory this process may still use: Linux's `MemAvailable`, `None` elsewhere.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Which backends this binary has, for `resc devices` and E0505's note.
pub(super) fn compiled_in() -> Vec<&'static str> {
    let mut all = vec!["cpu"];
    if cfg!(feature = "cuda") {
        all.push("cuda");
    }
    if cfg!(feature = "wgpu") {
        all.push("wgpu");
    }
    all
}

/// E0505: `--backend` names a backend this binary was built without.
fn not_compiled_in(kind: BackendKind) -> Exit {
    let name = kind.name();
    super::fail(
        Diagnostic::error(
            Code::E0505,
            format!("this resc was built without the `{name}` backend"),
        )
        .note(format!(
            "backends in this build: {}",
            compiled_in().join(", ")
        ))
        .hint(format!(
            "rebuild with `cargo build --release --features {name}`"
        )),
        EXIT_USAGE,
    )
}

/// E0507: the backend is compiled in but has no usable device.
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn no_device(message: String, notes: Vec<String>, hints: &[&str]) -> Exit {
    let mut d = Diagnostic::error(Code::E0507, message);
    for n in notes {
        d = d.note(n);
    }
    for h in hints {
        d = d.hint(*h);
    }
    super::fail(d, EXIT_DEVICE)
}

/// Runs a tiny computation on `device` so that a driver that cannot be loaded or a device
/// that cannot be opened is reported here, as E0507, instead of as a panic somewhere in
/// the first real operation. Burn's GPU runtimes panic on such failures; the panic is
/// caught and its message kept (the default panic message is not printed).
#[cfg(any(feature = "cuda", feature = "wgpu"))]
fn probe<B: Backend>(device: &B::Device) -> Result<(), String> {
    use burn::tensor::Tensor;
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let x = Tensor::<B, 1>::from_floats([1.0, 2.0, 3.0], device);
        x.sum().into_scalar()
    }));
    std::panic::set_hook(hook);
    match result {
        Ok(sum) if (burn::tensor::ElementConversion::elem::<f32>(sum) - 6.0).abs() < 1e-6 => Ok(()),
        Ok(sum) => Err(format!(
            "a test sum on the device gave {} instead of 6",
            burn::tensor::ElementConversion::elem::<f32>(sum)
        )),
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the runtime panicked".into())),
    }
}

#[cfg(feature = "cuda")]
fn cuda_device(index: usize) -> Result<burn::backend::cuda::CudaDevice, Exit> {
    let device = burn::backend::cuda::CudaDevice::new(index);
    probe::<burn::backend::Cuda>(&device).map_err(|e| {
        no_device(
            format!("cannot use CUDA device {index}"),
            vec![format!("the CUDA runtime said: {e}")],
            &[
                "resc loads libcuda and libnvrtc when it runs: install the NVIDIA driver and the CUDA toolkit, and check `nvidia-smi`",
                "without an NVIDIA GPU, `--backend wgpu` runs on Vulkan, Metal or DX12 GPUs",
            ],
        )
    })?;
    Ok(device)
}

/// One wgpu adapter as `resc devices` and E0507 show it.
#[cfg(feature = "wgpu")]
pub(super) struct Adapter {
    pub(super) info: wgpu::AdapterInfo,
    /// Burn's name for it.
    device: burn::backend::wgpu::WgpuDevice,
}

#[cfg(feature = "wgpu")]
impl std::fmt::Display for Adapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.info;
        let kind = match i.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete GPU",
            wgpu::DeviceType::IntegratedGpu => "integrated GPU",
            wgpu::DeviceType::VirtualGpu => "virtual GPU",
            wgpu::DeviceType::Cpu => "software renderer on the CPU (correct, not fast)",
            wgpu::DeviceType::Other => "other",
        };
        write!(f, "{} — {:?}, {kind}", i.name, i.backend)?;
        match (i.driver.is_empty(), i.driver_info.is_empty()) {
            (false, false) => write!(f, ", driver {} {}", i.driver, i.driver_info),
            (false, true) => write!(f, ", driver {}", i.driver),
            _ => Ok(()),
        }
    }
}

/// The adapters of the graphics API burn-wgpu uses on this platform (Vulkan on Linux and
/// Windows, Metal on macOS), in the order `--device` counts them, and the API's name.
#[cfg(feature = "wgpu")]
pub(super) fn wgpu_adapters() -> (Vec<Adapter>, wgpu::Backend) {
    use burn::backend::wgpu::graphics::{AutoGraphicsApi, GraphicsApi};
    use burn::backend::wgpu::WgpuDevice;
    let api = AutoGraphicsApi::backend();
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: api.into(),
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let infos: Vec<wgpu::AdapterInfo> = block_on(instance.enumerate_adapters(api.into()))
        .iter()
        .map(|a| a.get_info())
        .collect();
    // burn-wgpu selects an adapter by its type and its index among the adapters of that
    // type (a software adapter only as the first of its type).
    let adapters = infos
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let same_type = infos[..i]
                .iter()
                .filter(|o| o.device_type == info.device_type)
                .count();
            let device = match info.device_type {
                wgpu::DeviceType::DiscreteGpu => WgpuDevice::DiscreteGpu(same_type),
                wgpu::DeviceType::IntegratedGpu => WgpuDevice::IntegratedGpu(same_type),
                wgpu::DeviceType::VirtualGpu => WgpuDevice::VirtualGpu(same_type),
                wgpu::DeviceType::Cpu if same_type == 0 => WgpuDevice::Cpu,
                _ => WgpuDevice::DefaultDevice,
            };
            Adapter {
                info: info.clone(),
                device,
            }
        })
        .collect();
    (adapters, api)
}

/// The `index`-th wgpu adapter as a Burn device, checked by a test computation.
#[cfg(feature = "wgpu")]
fn wgpu_device(index: usize) -> Result<burn::backend::wgpu::WgpuDevice, Exit> {
    let (adapters, api) = wgpu_adapters();
    let install = [
        "install your GPU's Vulkan driver (Linux, Windows) — or, without a GPU, Mesa's software driver: `apt-get install mesa-vulkan-drivers` on Debian/Ubuntu",
        "`resc devices` lists the adapters resc can see",
    ];
    let Some(adapter) = adapters.get(index) else {
        let found = if adapters.is_empty() {
            "none".to_string()
        } else {
            adapters
                .iter()
                .enumerate()
                .map(|(i, a)| format!("{i}: {a}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        return Err(no_device(
            if adapters.is_empty() {
                format!("no {api:?} adapter for `--backend wgpu`")
            } else {
                format!("no {api:?} adapter number {index} for `--backend wgpu`")
            },
            vec![format!(
                "looked for {api:?} adapters (devices and their drivers) and found: {found}"
            )],
            &install,
        ));
    };
    if matches!(
        adapter.device,
        burn::backend::wgpu::WgpuDevice::DefaultDevice
    ) && index > 0
    {
        return Err(no_device(
            format!("wgpu adapter {index} ({adapter}) cannot be selected by number"),
            vec!["burn-wgpu selects a software or unclassified adapter only as the first of its kind".into()],
            &["use `--device` with one of the other adapters `resc devices` lists"],
        ));
    }
    probe::<burn::backend::Wgpu>(&adapter.device).map_err(|e| {
        no_device(
            format!("cannot use wgpu adapter {index}: {adapter}"),
            vec![format!("the wgpu runtime said: {e}")],
            &install,
        )
    })?;
    eprintln!("note: running on wgpu adapter {index}: {adapter}");
    Ok(adapter.device.clone())
}

/// Polls a future to completion on this thread (wgpu's adapter enumeration is `async`
/// but completes at once on native platforms).
#[cfg(feature = "wgpu")]
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// `resc devices`: the backends compiled in and the devices each can see.
pub(super) fn list_devices() -> i32 {
    println!("cpu: Burn's flex backend on {} threads", cpu_threads());
    if cfg!(feature = "cuda") {
        println!("cuda: compiled in; `--device N` is the N-th NVIDIA GPU (see `nvidia-smi`)");
    } else {
        println!("cuda: not compiled in (`cargo build --release --features cuda`)");
    }
    #[cfg(feature = "wgpu")]
    {
        let (adapters, api) = wgpu_adapters();
        if adapters.is_empty() {
            println!("wgpu: no {api:?} adapter found (install a Vulkan driver; without a GPU, `apt-get install mesa-vulkan-drivers`)");
        } else {
            println!("wgpu ({api:?}):");
            for (i, a) in adapters.iter().enumerate() {
                println!("  --device {i}: {a}");
            }
        }
    }
    #[cfg(not(feature = "wgpu"))]
    println!("wgpu: not compiled in (`cargo build --release --features wgpu`)");
    super::EXIT_OK
}

fn cpu_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
