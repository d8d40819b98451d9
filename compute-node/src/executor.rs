//! The Vulkan executor: device selection, the device report, pipelines and dispatch.

use std::{fmt, sync::Arc};

use tracing::{debug, info};
use vulkano::{
    buffer::{Buffer, BufferCreateInfo, BufferUsage, Subbuffer},
    command_buffer::{
        allocator::StandardCommandBufferAllocator, AutoCommandBufferBuilder, CommandBufferUsage,
    },
    descriptor_set::{
        allocator::StandardDescriptorSetAllocator, DescriptorSet, WriteDescriptorSet,
    },
    device::{
        physical::{PhysicalDevice, PhysicalDeviceType},
        Device, DeviceCreateInfo, DeviceExtensions, DeviceFeatures, Queue, QueueCreateInfo,
        QueueFlags,
    },
    instance::{Instance, InstanceCreateFlags, InstanceCreateInfo, InstanceExtensions},
    memory::allocator::{AllocationCreateInfo, MemoryTypeFilter, StandardMemoryAllocator},
    pipeline::{
        compute::ComputePipelineCreateInfo, layout::PipelineDescriptorSetLayoutCreateInfo,
        ComputePipeline, Pipeline, PipelineBindPoint, PipelineLayout,
        PipelineShaderStageCreateInfo,
    },
    shader::{ShaderModule, ShaderModuleCreateInfo, SpecializationConstant},
    sync::{self, GpuFuture},
    Version, VulkanLibrary,
};

use crate::{
    error::VkContext,
    gemm::{check_batched_shapes, pack_rows, words_per_row},
    ibert::{self, GeluParams, Requant, SoftmaxParams},
    ops::{self, Affine, SplitQuant},
    shaders, ComputeError, Matrix,
};

/// Rows and columns of C computed by one invocation of gemm-i8 (`TM`, `TN` in the shader).
///
/// 8 x 8 measured fastest on lavapipe: 4 x 4 spends most of its time loading operands from
/// shared memory, 16 x 8 spills too many accumulators.
pub const GEMM_MICRO_TILE: u32 = 8;

/// Loop iterations one shader invocation may run in one dispatch. Mesa's llvmpipe/lavapipe
/// silently leaves a shader's loops once about 65535 iterations have run (found by
/// `the_extreme_product_at_the_overflow_bound_is_exact`: results stopped growing past a fixed
/// k), so the host splits k over dispatches to stay well below that on every driver.
pub const LOOP_BUDGET: u64 = 32_768;

/// What the executor knows about its device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceReport {
    /// Device name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// Device type: discrete GPU, integrated GPU, virtual GPU, CPU or other.
    pub device_type: String,
    /// Vulkan API version the device supports.
    pub api_version: String,
    /// Driver name (Vulkan 1.2 / VK_KHR_driver_properties), when reported.
    pub driver_name: Option<String>,
    /// Driver info string, when reported.
    pub driver_info: Option<String>,
    /// `maxComputeWorkGroupSize`.
    pub max_workgroup_size: [u32; 3],
    /// `maxComputeWorkGroupInvocations`.
    pub max_workgroup_invocations: u32,
    /// `maxComputeWorkGroupCount`.
    pub max_workgroup_count: [u32; 3],
    /// `maxComputeSharedMemorySize`, bytes.
    pub max_shared_memory: u32,
    /// `maxStorageBufferRange`, bytes.
    pub max_storage_buffer_range: u32,
    /// `subgroupSize`, when reported.
    pub subgroup_size: Option<u32>,
    /// `minSubgroupSize` / `maxSubgroupSize`, when reported.
    pub subgroup_size_range: Option<(u32, u32)>,
    /// Feature `shaderInt8`.
    pub shader_int8: bool,
    /// Feature `storageBuffer8BitAccess`.
    pub storage_buffer_8bit_access: bool,
    /// Feature `shaderIntegerDotProduct`.
    pub shader_integer_dot_product: bool,
    /// `integerDotProduct4x8BitPackedSignedAccelerated`, when reported.
    pub dot_4x8_packed_signed_accelerated: Option<bool>,
}

impl DeviceReport {
    /// Whether this is a GPU (discrete, integrated or virtual), not Vulkan on the CPU
    /// (lavapipe, SwiftShader) or an unknown kind.
    pub fn is_real_gpu(&self) -> bool {
        matches!(
            self.device_type.as_str(),
            "discrete GPU" | "integrated GPU" | "virtual GPU"
        )
    }

    fn of(pd: &PhysicalDevice) -> Self {
        let p = pd.properties();
        let f = pd.supported_features();
        let device_type = match p.device_type {
            PhysicalDeviceType::DiscreteGpu => "discrete GPU",
            PhysicalDeviceType::IntegratedGpu => "integrated GPU",
            PhysicalDeviceType::VirtualGpu => "virtual GPU",
            PhysicalDeviceType::Cpu => "CPU",
            _ => "other",
        };
        Self {
            name: p.device_name.clone(),
            device_type: device_type.to_owned(),
            api_version: pd.api_version().to_string(),
            driver_name: p.driver_name.clone(),
            driver_info: p.driver_info.clone(),
            max_workgroup_size: p.max_compute_work_group_size,
            max_workgroup_invocations: p.max_compute_work_group_invocations,
            max_workgroup_count: p.max_compute_work_group_count,
            max_shared_memory: p.max_compute_shared_memory_size,
            max_storage_buffer_range: p.max_storage_buffer_range,
            subgroup_size: p.subgroup_size,
            subgroup_size_range: p.min_subgroup_size.zip(p.max_subgroup_size),
            shader_int8: f.shader_int8,
            storage_buffer_8bit_access: f.storage_buffer8_bit_access,
            shader_integer_dot_product: f.shader_integer_dot_product,
            dot_4x8_packed_signed_accelerated: p
                .integer_dot_product4x8_bit_packed_signed_accelerated,
        }
    }
}

fn opt<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "n/a".to_owned(), ToString::to_string)
}

impl fmt::Display for DeviceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [wx, wy, wz] = self.max_workgroup_size;
        let [cx, cy, cz] = self.max_workgroup_count;
        writeln!(f, "device:                      {}", self.name)?;
        writeln!(f, "type:                        {}", self.device_type)?;
        writeln!(f, "api version:                 {}", self.api_version)?;
        writeln!(f, "driver name:                 {}", opt(&self.driver_name))?;
        writeln!(f, "driver info:                 {}", opt(&self.driver_info))?;
        writeln!(f, "max workgroup size:          {wx} x {wy} x {wz}")?;
        writeln!(
            f,
            "max workgroup invocations:   {}",
            self.max_workgroup_invocations
        )?;
        writeln!(f, "max workgroup count:         {cx} x {cy} x {cz}")?;
        writeln!(
            f,
            "max shared memory:           {} bytes",
            self.max_shared_memory
        )?;
        writeln!(
            f,
            "max storage buffer range:    {} bytes",
            self.max_storage_buffer_range
        )?;
        writeln!(
            f,
            "subgroup size:               {}",
            opt(&self.subgroup_size)
        )?;
        let range = self
            .subgroup_size_range
            .map(|(lo, hi)| format!("{lo}..={hi}"));
        writeln!(f, "subgroup size range:         {}", opt(&range))?;
        writeln!(f, "shaderInt8:                  {}", self.shader_int8)?;
        writeln!(
            f,
            "storageBuffer8BitAccess:     {}",
            self.storage_buffer_8bit_access
        )?;
        writeln!(
            f,
            "shaderIntegerDotProduct:     {}",
            self.shader_integer_dot_product
        )?;
        write!(
            f,
            "dot 4x8 packed accelerated:  {}",
            opt(&self.dot_4x8_packed_signed_accelerated)
        )
    }
}

/// Which gemm-i8 shader variant to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GemmPath {
    /// The dot-product variant when the device has `shaderIntegerDotProduct`, else plain.
    #[default]
    Auto,
    /// Bytes sign-extended and multiplied one by one; runs everywhere.
    Plain,
    /// `OpSDot` on packed 4x8 words; fails if the device lacks it.
    DotProduct,
}

/// Workgroup shape and k-slab depth of gemm-i8, set through specialization constants.
///
/// A workgroup of `x * y` invocations computes a `4y x 4x` block of C and stages
/// `k_tile` int8 of k per barrier round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkgroupConfig {
    /// Invocations along n (columns of C).
    pub x: u32,
    /// Invocations along m (rows of C).
    pub y: u32,
    /// int8 of k staged in shared memory per round; a multiple of 16 (one `uvec4`).
    pub k_tile: u32,
}

impl Default for WorkgroupConfig {
    fn default() -> Self {
        Self {
            x: 16,
            y: 16,
            k_tile: 64,
        }
    }
}

impl WorkgroupConfig {
    /// An `x * y` workgroup with the deepest `k_tile` (128, 64, 32 or 16 int8) whose shared
    /// memory fits `max_shared_memory` bytes; deeper slabs mean fewer barriers.
    pub fn deepest_k_tile(x: u32, y: u32, max_shared_memory: u32) -> Self {
        let mut wg = Self { x, y, k_tile: 16 };
        for k_tile in [128, 64, 32] {
            let candidate = Self { x, y, k_tile };
            if candidate.shared_bytes() <= u64::from(max_shared_memory) {
                wg = candidate;
                break;
            }
        }
        wg
    }

    /// Rows of C per workgroup.
    pub fn block_rows(&self) -> u32 {
        self.y * GEMM_MICRO_TILE
    }

    /// Columns of C per workgroup.
    pub fn block_cols(&self) -> u32 {
        self.x * GEMM_MICRO_TILE
    }

    /// Shared memory the kernel needs, in bytes.
    pub fn shared_bytes(&self) -> u64 {
        u64::from(self.k_tile) * u64::from(self.block_rows() + self.block_cols())
    }

    /// `uvec4` groups of k per round (`BK16` in the shader).
    fn k_groups(&self) -> u32 {
        self.k_tile / 16
    }

    /// Loop iterations one invocation runs per round of k (one slab of `k_tile`), counting
    /// every loop of the shader as if the driver did not unroll it.
    fn loop_iterations_per_round(&self) -> u64 {
        let threads = u64::from(self.x) * u64::from(self.y);
        let kw = u64::from(self.k_groups());
        let loads_a = (u64::from(self.block_rows()) * kw).div_ceil(threads);
        let loads_b = (u64::from(self.block_cols()) * kw).div_ceil(threads);
        let t = u64::from(GEMM_MICRO_TILE);
        1 + loads_a + loads_b + kw * (1 + 3 * t + t * t)
    }

    /// Loop iterations outside the k loop (clearing and storing the micro-tile).
    fn loop_iterations_fixed() -> u64 {
        let t = u64::from(GEMM_MICRO_TILE);
        2 * (t + t * t)
    }

    /// int8 of k one dispatch covers (a multiple of `k_tile`); longer k is split over
    /// several dispatches that accumulate into C, keeping every invocation within
    /// [`LOOP_BUDGET`] loop iterations.
    pub fn k_per_dispatch(&self) -> u64 {
        16 * self.groups_per_dispatch()
    }

    /// `uvec4` groups of k one dispatch covers.
    pub(crate) fn groups_per_dispatch(&self) -> u64 {
        let rounds = LOOP_BUDGET.saturating_sub(Self::loop_iterations_fixed())
            / self.loop_iterations_per_round();
        rounds.max(1) * u64::from(self.k_groups())
    }

    pub(crate) fn validate(&self, r: &DeviceReport) -> Result<(), ComputeError> {
        if !self.k_tile.is_multiple_of(16) {
            return Err(ComputeError::Workgroup(format!(
                "k_tile = {} is not a multiple of 16",
                self.k_tile
            )));
        }
        if self.x == 0 || self.y == 0 || self.k_tile == 0 {
            return Err(ComputeError::Workgroup(format!(
                "{self:?} has a zero dimension"
            )));
        }
        if self.loop_iterations_per_round() + Self::loop_iterations_fixed() > LOOP_BUDGET {
            return Err(ComputeError::Workgroup(format!(
                "k_tile = {} makes one round exceed the loop budget of {LOOP_BUDGET}",
                self.k_tile
            )));
        }
        if self.x > r.max_workgroup_size[0] || self.y > r.max_workgroup_size[1] {
            return Err(ComputeError::Workgroup(format!(
                "{} x {} exceeds the device's max workgroup size {:?}",
                self.x, self.y, r.max_workgroup_size
            )));
        }
        if u64::from(self.x) * u64::from(self.y) > u64::from(r.max_workgroup_invocations) {
            return Err(ComputeError::Workgroup(format!(
                "{} invocations exceed the device's {}",
                u64::from(self.x) * u64::from(self.y),
                r.max_workgroup_invocations
            )));
        }
        if self.shared_bytes() > u64::from(r.max_shared_memory) {
            return Err(ComputeError::Workgroup(format!(
                "needs {} bytes of shared memory, the device has {}",
                self.shared_bytes(),
                r.max_shared_memory
            )));
        }
        Ok(())
    }
}

/// How to build an [`Executor`].
#[derive(Clone, Debug, Default)]
pub struct ExecutorOptions {
    /// Index into [`list_devices`]'s order; `None` picks the best device (a discrete GPU
    /// first, then integrated, virtual, CPU).
    pub device_index: Option<usize>,
    /// gemm-i8 workgroup configuration.
    pub workgroup: WorkgroupConfig,
}

/// A Vulkan device with its compute queue and the kernels' pipelines.
pub struct Executor {
    // Crate-visible so that the batched encoder (`crate::vulkan`) records its own command
    // buffers on the same device, queue and allocators.
    pub(crate) device: Arc<Device>,
    pub(crate) queue: Arc<Queue>,
    pub(crate) memory: Arc<StandardMemoryAllocator>,
    pub(crate) command_buffers: Arc<StandardCommandBufferAllocator>,
    pub(crate) descriptor_sets: Arc<StandardDescriptorSetAllocator>,
    report: DeviceReport,
    workgroup: WorkgroupConfig,
    gemm_plain: Arc<ComputePipeline>,
    gemm_dot: Option<Arc<ComputePipeline>>,
    requant: Arc<ComputePipeline>,
    gelu: Arc<ComputePipeline>,
    softmax: Arc<ComputePipeline>,
    layernorm: Arc<ComputePipeline>,
    affine: Arc<ComputePipeline>,
    add: Arc<ComputePipeline>,
    dynquant: Arc<ComputePipeline>,
    pool: Arc<ComputePipeline>,
}

/// Invocations per workgroup of the element-wise and row-wise kernels (`local_size_x`).
const SMALL_WG: u64 = 64;

fn instance() -> Result<Arc<Instance>, ComputeError> {
    let library = VulkanLibrary::new().map_err(|e| ComputeError::Loading(e.to_string()))?;
    // Portability enumeration lets MoltenVK-style drivers show up; harmless elsewhere.
    let portability = library.supported_extensions().khr_portability_enumeration;
    Instance::new(
        library,
        InstanceCreateInfo {
            flags: if portability {
                InstanceCreateFlags::ENUMERATE_PORTABILITY
            } else {
                InstanceCreateFlags::empty()
            },
            enabled_extensions: InstanceExtensions {
                khr_portability_enumeration: portability,
                ..InstanceExtensions::empty()
            },
            application_name: Some("deai-compute".to_owned()),
            ..Default::default()
        },
    )
    .vk("creating the instance")
}

fn device_rank(t: PhysicalDeviceType) -> u8 {
    match t {
        PhysicalDeviceType::DiscreteGpu => 0,
        PhysicalDeviceType::IntegratedGpu => 1,
        PhysicalDeviceType::VirtualGpu => 2,
        PhysicalDeviceType::Cpu => 3,
        _ => 4,
    }
}

fn compute_queue_family(pd: &PhysicalDevice) -> Option<u32> {
    // Prefer a compute-only family (async compute on GPUs), else any with compute.
    let families = pd.queue_family_properties();
    let pick = families
        .iter()
        .position(|q| {
            q.queue_flags.contains(QueueFlags::COMPUTE)
                && !q.queue_flags.contains(QueueFlags::GRAPHICS)
        })
        .or_else(|| {
            families
                .iter()
                .position(|q| q.queue_flags.contains(QueueFlags::COMPUTE))
        })?;
    u32::try_from(pick).ok()
}

/// Compute-capable devices, best first (the order [`ExecutorOptions::device_index`] uses).
fn ranked_devices(instance: &Arc<Instance>) -> Result<Vec<Arc<PhysicalDevice>>, ComputeError> {
    let mut devices: Vec<_> = instance
        .enumerate_physical_devices()
        .vk("enumerating physical devices")?
        .filter(|pd| compute_queue_family(pd).is_some())
        .collect();
    // Stable sort: ties keep the driver's order.
    devices.sort_by_key(|pd| device_rank(pd.properties().device_type));
    Ok(devices)
}

/// Reports on every compute-capable device, best first.
pub fn list_devices() -> Result<Vec<DeviceReport>, ComputeError> {
    let instance = instance()?;
    Ok(ranked_devices(&instance)?
        .iter()
        .map(|pd| DeviceReport::of(pd))
        .collect())
}

/// Creates a shader module from embedded SPIR-V.
#[allow(unsafe_code)]
fn shader_module(
    device: &Arc<Device>,
    name: &'static str,
    bytes: &[u8],
) -> Result<Arc<ShaderModule>, ComputeError> {
    let words = shaders::spirv_words(name, bytes)?;
    // SAFETY: the words are a SPIR-V module produced by glslc from our own shader sources at
    // build time (checked for the SPIR-V magic above); vulkano additionally parses the module
    // and validates its capabilities and extensions against the device.
    unsafe { ShaderModule::new(device.clone(), ShaderModuleCreateInfo::new(&words)) }
        .vk("creating a shader module")
}

pub(crate) fn gemm_pipeline(
    device: &Arc<Device>,
    name: &'static str,
    bytes: &[u8],
    wg: WorkgroupConfig,
) -> Result<Arc<ComputePipeline>, ComputeError> {
    pipeline(device, name, bytes, &[wg.x, wg.y, wg.k_groups()])
}

/// A compute pipeline from embedded SPIR-V, with u32 specialization constants 0, 1, ...
pub(crate) fn pipeline(
    device: &Arc<Device>,
    name: &'static str,
    bytes: &[u8],
    constants: &[u32],
) -> Result<Arc<ComputePipeline>, ComputeError> {
    let module = shader_module(device, name, bytes)?;
    // Collected rather than named: vulkano takes a foldhash map here.
    let spec = module
        .specialize(
            (0u32..)
                .zip(constants)
                .map(|(id, &v)| (id, SpecializationConstant::U32(v)))
                .collect(),
        )
        .vk("specializing a shader")?;
    let entry = spec
        .entry_point("main")
        .ok_or(ComputeError::BadSpirv(name))?;
    let stage = PipelineShaderStageCreateInfo::new(entry);
    let layout_info = PipelineDescriptorSetLayoutCreateInfo::from_stages([&stage])
        .into_pipeline_layout_create_info(device.clone())
        .vk("deriving a pipeline layout")?;
    let layout =
        PipelineLayout::new(device.clone(), layout_info).vk("creating a pipeline layout")?;
    ComputePipeline::new(
        device.clone(),
        None,
        ComputePipelineCreateInfo::stage_layout(stage, layout),
    )
    .vk("creating a compute pipeline")
}

impl Executor {
    /// Opens a device and builds the kernels' pipelines.
    pub fn new(options: ExecutorOptions) -> Result<Self, ComputeError> {
        let instance = instance()?;
        let devices = ranked_devices(&instance)?;
        let physical = match options.device_index {
            Some(index) => devices
                .get(index)
                .cloned()
                .ok_or(ComputeError::DeviceIndex {
                    index,
                    count: devices.len(),
                })?,
            None => devices.first().cloned().ok_or(ComputeError::NoDevice)?,
        };
        let report = DeviceReport::of(&physical);
        options.workgroup.validate(&report)?;
        let queue_family_index = compute_queue_family(&physical).ok_or(ComputeError::NoDevice)?;

        let dot = report.shader_integer_dot_product;
        let core_dot = physical.api_version() >= Version::V1_3;
        let enabled_extensions = DeviceExtensions {
            khr_shader_integer_dot_product: dot && !core_dot,
            ..DeviceExtensions::empty()
        };
        let enabled_features = DeviceFeatures {
            shader_integer_dot_product: dot,
            ..DeviceFeatures::empty()
        };
        let (device, mut queues) = Device::new(
            physical,
            DeviceCreateInfo {
                queue_create_infos: vec![QueueCreateInfo {
                    queue_family_index,
                    ..Default::default()
                }],
                enabled_extensions,
                enabled_features,
                ..Default::default()
            },
        )
        .vk("creating the logical device")?;
        let queue = queues.next().ok_or(ComputeError::NoDevice)?;
        info!(device = %report.name, kind = %report.device_type, dot, "opened Vulkan device");

        let wg = options.workgroup;
        let gemm_plain = gemm_pipeline(&device, "gemm_i8_plain", shaders::GEMM_I8_PLAIN, wg)?;
        let gemm_dot = if dot {
            Some(gemm_pipeline(
                &device,
                "gemm_i8_dot",
                shaders::GEMM_I8_DOT,
                wg,
            )?)
        } else {
            None
        };

        let requant = pipeline(&device, "requant", shaders::REQUANT, &[])?;
        let gelu = pipeline(&device, "gelu", shaders::GELU, &[])?;
        let softmax = pipeline(&device, "softmax", shaders::SOFTMAX, &[])?;
        let layernorm = pipeline(&device, "layernorm", shaders::LAYERNORM, &[])?;
        let affine = pipeline(&device, "affine", shaders::AFFINE, &[])?;
        let add = pipeline(&device, "add", shaders::ADD, &[])?;
        let dynquant = pipeline(&device, "dynquant", shaders::DYNQUANT, &[])?;
        let pool = pipeline(&device, "pool", shaders::POOL, &[])?;

        Ok(Self {
            requant,
            gelu,
            softmax,
            layernorm,
            affine,
            add,
            dynquant,
            pool,
            memory: Arc::new(StandardMemoryAllocator::new_default(device.clone())),
            command_buffers: Arc::new(StandardCommandBufferAllocator::new(
                device.clone(),
                Default::default(),
            )),
            descriptor_sets: Arc::new(StandardDescriptorSetAllocator::new(
                device.clone(),
                Default::default(),
            )),
            device,
            queue,
            report,
            workgroup: wg,
            gemm_plain,
            gemm_dot,
        })
    }

    /// The device report.
    pub fn report(&self) -> &DeviceReport {
        &self.report
    }

    /// The gemm-i8 workgroup configuration.
    pub fn workgroup(&self) -> WorkgroupConfig {
        self.workgroup
    }

    /// Whether the integer dot-product variant is available.
    pub fn has_dot_product(&self) -> bool {
        self.gemm_dot.is_some()
    }

    /// The variant `path` resolves to on this device.
    pub fn resolve(&self, path: GemmPath) -> Result<GemmPath, ComputeError> {
        match (path, self.has_dot_product()) {
            (GemmPath::Plain, _) | (GemmPath::Auto, false) => Ok(GemmPath::Plain),
            (GemmPath::DotProduct | GemmPath::Auto, true) => Ok(GemmPath::DotProduct),
            (GemmPath::DotProduct, false) => Err(ComputeError::DotProductUnsupported),
        }
    }

    fn storage_buffer<T: vulkano::buffer::BufferContents>(
        &self,
        len: usize,
        what: &'static str,
        filter: MemoryTypeFilter,
    ) -> Result<Subbuffer<[T]>, ComputeError> {
        storage_slice(
            &self.memory,
            len,
            self.report.max_storage_buffer_range,
            what,
            filter,
        )
    }

    fn packed_input(
        &self,
        m: &Matrix<i8>,
        what: &'static str,
    ) -> Result<Subbuffer<[u32]>, ComputeError> {
        let len = (m.rows() * words_per_row(m.cols())).max(1);
        let buf = self.storage_buffer::<u32>(
            len,
            what,
            MemoryTypeFilter::PREFER_DEVICE | MemoryTypeFilter::HOST_SEQUENTIAL_WRITE,
        )?;
        {
            let mut w = buf.write().vk("mapping an input buffer")?;
            pack_rows(m, &mut w[..m.rows() * words_per_row(m.cols())]);
        }
        Ok(buf)
    }

    /// gemm-i8 on the device: `C = A x Bt^T` (layout and overflow bound in [`crate::gemm`]).
    ///
    /// The result is bit-identical to [`crate::gemm_i8_reference`].
    pub fn gemm_i8(
        &self,
        a: &Matrix<i8>,
        bt: &Matrix<i8>,
        path: GemmPath,
    ) -> Result<Matrix<i32>, ComputeError> {
        self.gemm_i8_batched(a, bt, 1, path)
    }

    /// `batch` gemm-i8 products stacked by rows in one dispatch; bit-identical to
    /// [`crate::gemm::gemm_i8_batched_reference`].
    pub fn gemm_i8_batched(
        &self,
        a: &Matrix<i8>,
        bt: &Matrix<i8>,
        batch: usize,
        path: GemmPath,
    ) -> Result<Matrix<i32>, ComputeError> {
        // Bounds k and the result's size before any buffer is sized from the shapes.
        let (m, n, k) = check_batched_shapes(a, bt, batch)?;
        let path = self.resolve(path)?;
        if m == 0 || n == 0 {
            return Matrix::filled(batch * m, n, 0);
        }
        let max_z = u64::from(self.report.max_workgroup_count[2]);
        if batch as u64 > max_z {
            return Err(ComputeError::DeviceLimit {
                what: "gemm batches",
                value: batch as u64,
                limit: max_z,
            });
        }
        let pipeline = match path {
            GemmPath::DotProduct => self
                .gemm_dot
                .as_ref()
                .ok_or(ComputeError::DotProductUnsupported)?,
            _ => &self.gemm_plain,
        };
        let wg = self.workgroup;
        let groups = [
            n.div_ceil(wg.block_cols() as usize),
            m.div_ceil(wg.block_rows() as usize),
        ];
        for (axis, (&g, &limit)) in groups
            .iter()
            .zip(&self.report.max_workgroup_count)
            .enumerate()
        {
            if g as u64 > u64::from(limit) {
                return Err(ComputeError::DeviceLimit {
                    what: if axis == 0 {
                        "workgroups along n"
                    } else {
                        "workgroups along m"
                    },
                    value: g as u64,
                    limit: u64::from(limit),
                });
            }
        }
        let too_big = |what, v: usize| ComputeError::DeviceLimit {
            what,
            value: v as u64,
            limit: u64::from(u32::MAX),
        };
        let m32 = u32::try_from(m).map_err(|_| too_big("m", m))?;
        let n32 = u32::try_from(n).map_err(|_| too_big("n", n))?;
        // Row stride and k range in uvec4 groups of 16 int8, as the shader indexes them.
        let kw = u32::try_from(words_per_row(k) / 4).map_err(|_| too_big("k", k))?;
        // k <= K_MAX, so a chunk (capped at kw) always fits in u32.
        let chunk = u32::try_from(wg.groups_per_dispatch().min(u64::from(kw))).unwrap_or(kw);

        let a_buf = self.packed_input(a, "A buffer bytes")?;
        let b_buf = self.packed_input(bt, "Bt buffer bytes")?;
        let c_buf = self.storage_buffer::<i32>(
            batch * m * n,
            "C buffer bytes",
            MemoryTypeFilter::PREFER_DEVICE | MemoryTypeFilter::HOST_RANDOM_ACCESS,
        )?;

        let layout = pipeline.layout().clone();
        let set_layout = layout
            .set_layouts()
            .first()
            .cloned()
            .ok_or(ComputeError::BadSpirv("gemm_i8"))?;
        let set = DescriptorSet::new(
            self.descriptor_sets.clone(),
            set_layout,
            [
                WriteDescriptorSet::buffer(0, a_buf),
                WriteDescriptorSet::buffer(1, b_buf),
                WriteDescriptorSet::buffer(2, c_buf.clone()),
            ],
            [],
        )
        .vk("writing the descriptor set")?;

        let mut builder = AutoCommandBufferBuilder::primary(
            self.command_buffers.clone(),
            self.queue.queue_family_index(),
            CommandBufferUsage::OneTimeSubmit,
        )
        .vk("allocating a command buffer")?;
        builder
            .bind_pipeline_compute(pipeline.clone())
            .vk("binding the pipeline")?
            .bind_descriptor_sets(PipelineBindPoint::Compute, layout.clone(), 0, set)
            .vk("binding the descriptor set")?;
        let group_counts = [groups[0] as u32, groups[1] as u32, batch as u32];
        // Integer addition is associative here (no partial sum can overflow), so splitting k
        // over dispatches cannot change the result. vulkano orders the dispatches with
        // barriers because each reads and writes C.
        let mut k_begin = 0u32;
        while k_begin < kw {
            let k_end = k_begin.saturating_add(chunk).min(kw);
            let params = [m32, n32, kw, k_begin, k_end, u32::from(k_begin > 0)];
            builder
                .push_constants(layout.clone(), 0, params)
                .vk("pushing constants")?;
            dispatch(&mut builder, group_counts)?;
            k_begin = k_end;
        }
        let commands = builder.build().vk("building the command buffer")?;
        debug!(m, n, k, ?path, ?group_counts, "dispatching gemm-i8");
        sync::now(self.device.clone())
            .then_execute(self.queue.clone(), commands)
            .vk("submitting gemm-i8")?
            .then_signal_fence_and_flush()
            .vk("flushing gemm-i8")?
            .wait(None)
            .vk("waiting for gemm-i8")?;

        let out = c_buf.read().vk("mapping the output buffer")?;
        Matrix::new(batch * m, n, out.to_vec())
    }
}

impl Executor {
    /// A host-visible storage buffer holding `data` (at least one element long).
    fn upload(&self, data: &[u32], what: &'static str) -> Result<Subbuffer<[u32]>, ComputeError> {
        let buf = self.storage_buffer::<u32>(
            data.len().max(1),
            what,
            MemoryTypeFilter::PREFER_DEVICE | MemoryTypeFilter::HOST_SEQUENTIAL_WRITE,
        )?;
        buf.write().vk("mapping an input buffer")?[..data.len()].copy_from_slice(data);
        Ok(buf)
    }

    /// A host-readable storage buffer of `len` (at least one) u32.
    fn output(&self, len: usize, what: &'static str) -> Result<Subbuffer<[u32]>, ComputeError> {
        self.storage_buffer::<u32>(
            len.max(1),
            what,
            MemoryTypeFilter::PREFER_DEVICE | MemoryTypeFilter::HOST_RANDOM_ACCESS,
        )
    }

    /// Splits `groups` workgroups over a 2D grid within the device's limits; the shaders
    /// linearise it as `x + y * gl_NumWorkGroups.x` and skip the overhang.
    fn grid(&self, groups: u64) -> Result<[u32; 3], ComputeError> {
        grid(&self.report, groups)
    }

    /// Binds `buffers` to bindings 0, 1, ... of `pipeline`, pushes `push` and runs one
    /// dispatch of `groups`, waiting for it to finish.
    fn run_once(
        &self,
        pipeline: &Arc<ComputePipeline>,
        buffers: &[Subbuffer<[u32]>],
        push: [u32; 8],
        groups: [u32; 3],
    ) -> Result<(), ComputeError> {
        let layout = pipeline.layout().clone();
        let set = buffer_set(&self.descriptor_sets, pipeline, buffers.iter().cloned())?;
        let mut builder = AutoCommandBufferBuilder::primary(
            self.command_buffers.clone(),
            self.queue.queue_family_index(),
            CommandBufferUsage::OneTimeSubmit,
        )
        .vk("allocating a command buffer")?;
        builder
            .bind_pipeline_compute(pipeline.clone())
            .vk("binding the pipeline")?
            .bind_descriptor_sets(PipelineBindPoint::Compute, layout.clone(), 0, set)
            .vk("binding the descriptor set")?
            .push_constants(layout, 0, push)
            .vk("pushing constants")?;
        dispatch(&mut builder, groups)?;
        let commands = builder.build().vk("building the command buffer")?;
        sync::now(self.device.clone())
            .then_execute(self.queue.clone(), commands)
            .vk("submitting a kernel")?
            .then_signal_fence_and_flush()
            .vk("flushing a kernel")?
            .wait(None)
            .vk("waiting for a kernel")?;
        Ok(())
    }

    fn read(&self, buf: &Subbuffer<[u32]>, len: usize) -> Result<Vec<u32>, ComputeError> {
        Ok(buf.read().vk("mapping an output buffer")?[..len].to_vec())
    }

    /// [`Executor::upload`] of i32 values, bit for bit (the shaders read them as `int`).
    fn upload_i32(
        &self,
        data: &[i32],
        what: &'static str,
    ) -> Result<Subbuffer<[u32]>, ComputeError> {
        let bits: Vec<u32> = data.iter().map(|&v| v as u32).collect();
        self.upload(&bits, what)
    }

    /// [`Executor::read`] of i32 values, bit for bit.
    fn read_i32(&self, buf: &Subbuffer<[u32]>, len: usize) -> Result<Vec<i32>, ComputeError> {
        Ok(self.read(buf, len)?.into_iter().map(|v| v as i32).collect())
    }

    fn u32_param(v: usize, what: &'static str) -> Result<u32, ComputeError> {
        u32::try_from(v).map_err(|_| ComputeError::DeviceLimit {
            what,
            value: v as u64,
            limit: u64::from(u32::MAX),
        })
    }

    /// Requantization to int8 with per-column (multiplier, shift) pairs; bit-identical to
    /// [`ibert::requantize_reference`].
    pub fn requantize(
        &self,
        x: &Matrix<i32>,
        params: &[Requant],
    ) -> Result<Matrix<i8>, ComputeError> {
        ibert::check_requant(x, params)?;
        let total = x.data().len();
        if total == 0 {
            return Matrix::new(x.rows(), x.cols(), Vec::new());
        }
        let mult: Vec<i32> = params.iter().map(|p| p.multiplier).collect();
        let shift: Vec<u32> = params.iter().map(|p| p.shift).collect();
        let words = total.div_ceil(4);
        let out = self.output(words, "requantization output bytes")?;
        let buffers = [
            self.upload_i32(x.data(), "requantization input bytes")?,
            self.upload_i32(&mult, "multiplier bytes")?,
            self.upload(&shift, "shift bytes")?,
            out.clone(),
        ];
        let push = [
            Self::u32_param(total, "elements")?,
            Self::u32_param(x.cols(), "columns")?,
            0,
            0,
            0,
            0,
            0,
            0,
        ];
        let groups = self.grid((words as u64).div_ceil(SMALL_WG))?;
        self.run_once(&self.requant, &buffers, push, groups)?;
        let packed = self.read(&out, words)?;
        let data = packed
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .take(total)
            .map(|b| i8::from_le_bytes([b]))
            .collect();
        Matrix::new(x.rows(), x.cols(), data)
    }

    /// I-BERT integer GELU; bit-identical to [`ibert::gelu_reference`].
    pub fn gelu(&self, x: &Matrix<i32>, p: &GeluParams) -> Result<Matrix<i32>, ComputeError> {
        ibert::check_gelu(x, p)?;
        let total = x.data().len();
        if total == 0 {
            return Matrix::new(x.rows(), x.cols(), Vec::new());
        }
        let out = self.output(total, "GELU output bytes")?;
        let buffers = [self.upload_i32(x.data(), "GELU input bytes")?, out.clone()];
        let push = [
            Self::u32_param(total, "elements")?,
            p.q_b as u32,
            p.q_c as u32,
            p.q_1 as u32,
            0,
            0,
            0,
            0,
        ];
        let groups = self.grid((total as u64).div_ceil(SMALL_WG))?;
        self.run_once(&self.gelu, &buffers, push, groups)?;
        let data = self.read_i32(&out, total)?;
        Matrix::new(x.rows(), x.cols(), data)
    }

    /// I-BERT integer softmax over each row; bit-identical to [`ibert::softmax_reference`].
    pub fn softmax(&self, x: &Matrix<i32>, p: &SoftmaxParams) -> Result<Matrix<u32>, ComputeError> {
        ibert::check_softmax(x, p)?;
        let total = x.data().len();
        if total == 0 {
            return Matrix::new(x.rows(), x.cols(), Vec::new());
        }
        let out = self.output(total, "softmax output bytes")?;
        let buffers = [
            self.upload_i32(x.data(), "softmax input bytes")?,
            out.clone(),
        ];
        let push = [
            Self::u32_param(x.rows(), "rows")?,
            Self::u32_param(x.cols(), "columns")?,
            p.q_ln2 as u32,
            p.q_b as u32,
            p.q_c as u32,
            p.out_bits,
            0,
            0,
        ];
        let groups = self.grid(x.rows() as u64)?;
        self.run_once(&self.softmax, &buffers, push, groups)?;
        Matrix::new(x.rows(), x.cols(), self.read(&out, total)?)
    }

    /// Integer LayerNorm of each row; bit-identical to [`ibert::layernorm_reference`].
    pub fn layernorm(&self, x: &Matrix<i32>, out_bits: u32) -> Result<Matrix<i32>, ComputeError> {
        ibert::check_layernorm(x, out_bits)?;
        let total = x.data().len();
        if total == 0 {
            return Matrix::new(x.rows(), x.cols(), Vec::new());
        }
        let out = self.output(total, "LayerNorm output bytes")?;
        let buffers = [
            self.upload_i32(x.data(), "LayerNorm input bytes")?,
            out.clone(),
        ];
        let push = [
            Self::u32_param(x.rows(), "rows")?,
            Self::u32_param(x.cols(), "columns")?,
            out_bits,
            0,
            0,
            0,
            0,
            0,
        ];
        let groups = self.grid(x.rows() as u64)?;
        self.run_once(&self.layernorm, &buffers, push, groups)?;
        let data = self.read_i32(&out, total)?;
        Matrix::new(x.rows(), x.cols(), data)
    }
}

impl Executor {
    /// Per-column affine requantization with per-row shift offsets; bit-identical to
    /// [`ops::affine_reference`].
    pub fn affine(
        &self,
        x: &Matrix<i32>,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        ops::check_affine(x, p, row_shift)?;
        self.run_affine(x, None, p, row_shift)
    }

    /// [`Executor::affine`] of `a * ma + b * mb` in one dispatch; bit-identical to
    /// [`ops::affine_sum_reference`].
    pub fn affine_sum(
        &self,
        a: &Matrix<i32>,
        b: &Matrix<i32>,
        ma: i32,
        mb: i32,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        ops::check_same_shape(a, b)?;
        ops::check_affine(a, p, row_shift)?;
        self.run_affine(a, Some((b, ma, mb)), p, row_shift)
    }

    fn run_affine(
        &self,
        x: &Matrix<i32>,
        second: Option<(&Matrix<i32>, i32, i32)>,
        p: &Affine,
        row_shift: &[u32],
    ) -> Result<Matrix<i32>, ComputeError> {
        let total = x.data().len();
        if total == 0 {
            return Matrix::new(x.rows(), x.cols(), Vec::new());
        }
        let out = self.output(total, "affine output bytes")?;
        let (x2, ma, mb) = match second {
            Some((b, ma, mb)) => (self.upload_i32(b.data(), "affine input bytes")?, ma, mb),
            None => (self.upload(&[0], "affine input bytes")?, 1, 0),
        };
        let buffers = [
            self.upload_i32(x.data(), "affine input bytes")?,
            self.upload_i32(&p.mult, "multiplier bytes")?,
            self.upload(&p.shift, "shift bytes")?,
            self.upload_i32(&p.bias, "bias bytes")?,
            self.upload(row_shift, "row shift bytes")?,
            out.clone(),
            x2,
        ];
        let push = [
            Self::u32_param(total, "elements")?,
            Self::u32_param(x.cols(), "columns")?,
            p.lo as u32,
            p.hi as u32,
            ma as u32,
            mb as u32,
            u32::from(second.is_some()),
            0,
        ];
        let groups = self.grid((total as u64).div_ceil(SMALL_WG))?;
        self.run_once(&self.affine, &buffers, push, groups)?;
        let data = self.read_i32(&out, total)?;
        Matrix::new(x.rows(), x.cols(), data)
    }

    /// `a * ma + b * mb`, wrapping; bit-identical to [`ops::add_reference`].
    pub fn add(
        &self,
        a: &Matrix<i32>,
        b: &Matrix<i32>,
        ma: i32,
        mb: i32,
    ) -> Result<Matrix<i32>, ComputeError> {
        ops::check_same_shape(a, b)?;
        let total = a.data().len();
        if total == 0 {
            return Matrix::new(a.rows(), a.cols(), Vec::new());
        }
        let out = self.output(total, "add output bytes")?;
        let buffers = [
            self.upload_i32(a.data(), "add input bytes")?,
            self.upload_i32(b.data(), "add input bytes")?,
            out.clone(),
        ];
        let push = [
            Self::u32_param(total, "elements")?,
            ma as u32,
            mb as u32,
            0,
            0,
            0,
            0,
            0,
        ];
        let groups = self.grid((total as u64).div_ceil(SMALL_WG))?;
        self.run_once(&self.add, &buffers, push, groups)?;
        let data = self.read_i32(&out, total)?;
        Matrix::new(a.rows(), a.cols(), data)
    }

    /// Dynamic per-row power-of-two quantization to `bits`-bit integers; bit-identical to
    /// [`ops::dynquant_reference`].
    pub fn dynquant(
        &self,
        x: &Matrix<i32>,
        bits: u32,
    ) -> Result<(Matrix<i32>, Vec<u32>), ComputeError> {
        ops::check_dynquant(x, bits)?;
        let (q, _, k) = self.run_dynquant(x, bits, false)?;
        Ok((Matrix::new(x.rows(), x.cols(), q)?, k))
    }

    /// Dynamic quantization split into int8 halves; bit-identical to
    /// [`ops::dynquant_split_reference`].
    pub fn dynquant_split(&self, x: &Matrix<i32>, bits: u32) -> Result<SplitQuant, ComputeError> {
        ops::check_dynquant_split(x, bits)?;
        let (hi, lo, k) = self.run_dynquant(x, bits, true)?;
        // The shader's halves lie in -64..=64, so the narrowing keeps every value.
        let narrow = |v: Vec<i32>| v.into_iter().map(|x| x.clamp(-128, 127) as i8).collect();
        Ok((
            Matrix::new(x.rows(), x.cols(), narrow(hi))?,
            Matrix::new(x.rows(), x.cols(), narrow(lo))?,
            k,
        ))
    }

    /// Runs dynquant.comp: (values or high halves, low halves when split, row exponents).
    #[allow(clippy::type_complexity)]
    fn run_dynquant(
        &self,
        x: &Matrix<i32>,
        bits: u32,
        split: bool,
    ) -> Result<(Vec<i32>, Vec<i32>, Vec<u32>), ComputeError> {
        let total = x.data().len();
        if total == 0 {
            return Ok((Vec::new(), Vec::new(), vec![0; x.rows()]));
        }
        let out = self.output(total, "dynquant output bytes")?;
        let shifts = self.output(x.rows(), "dynquant shift bytes")?;
        let lo = self.output(if split { total } else { 1 }, "dynquant output bytes")?;
        let buffers = [
            self.upload_i32(x.data(), "dynquant input bytes")?,
            out.clone(),
            shifts.clone(),
            lo.clone(),
        ];
        let push = [
            Self::u32_param(x.rows(), "rows")?,
            Self::u32_param(x.cols(), "columns")?,
            (1u32 << (bits - 1)) - 1,
            u32::from(split),
            0,
            0,
            0,
            0,
        ];
        let groups = self.grid(x.rows() as u64)?;
        self.run_once(&self.dynquant, &buffers, push, groups)?;
        let lo = if split {
            self.read_i32(&lo, total)?
        } else {
            Vec::new()
        };
        Ok((
            self.read_i32(&out, total)?,
            lo,
            self.read(&shifts, x.rows())?,
        ))
    }

    /// Masked mean pooling and integer L2 normalisation; bit-identical to
    /// [`ops::pool_reference`].
    pub fn pool(
        &self,
        x: &Matrix<i32>,
        mask: &[u32],
        out_bits: u32,
    ) -> Result<Matrix<i32>, ComputeError> {
        ops::check_pool(x, mask, out_bits)?;
        let out = self.output(x.cols(), "pooling output bytes")?;
        let buffers = [
            self.upload_i32(x.data(), "pooling input bytes")?,
            self.upload(mask, "mask bytes")?,
            out.clone(),
        ];
        let push = [
            Self::u32_param(x.rows(), "rows")?,
            Self::u32_param(x.cols(), "columns")?,
            out_bits,
            0,
            0,
            0,
            0,
            0,
        ];
        self.run_once(&self.pool, &buffers, push, [1, 1, 1])?;
        let data = self.read_i32(&out, x.cols())?;
        Matrix::new(1, x.cols(), data)
    }
}

/// Records a dispatch of the currently bound compute pipeline.
#[allow(unsafe_code)]
pub(crate) fn dispatch<L>(
    builder: &mut AutoCommandBufferBuilder<L>,
    group_counts: [u32; 3],
) -> Result<(), ComputeError> {
    // SAFETY: vulkano cannot check what a shader does with its resources, hence `unsafe`.
    // Our kernels only index their buffers within bounds they check against the push
    // constants (m, n, kw), which the caller derived from the sizes of the bound buffers
    // (each buffer holds at least the rows x words the kernel reads or writes), and they do
    // not loop unboundedly.
    unsafe { builder.dispatch(group_counts) }.vk("recording the dispatch")?;
    Ok(())
}

/// A descriptor set 0 for `pipeline` with `buffers` bound to bindings 0, 1, ... in order.
pub(crate) fn buffer_set(
    allocator: &Arc<StandardDescriptorSetAllocator>,
    pipeline: &Arc<ComputePipeline>,
    buffers: impl IntoIterator<Item = Subbuffer<[u32]>>,
) -> Result<Arc<DescriptorSet>, ComputeError> {
    let set_layout = pipeline
        .layout()
        .set_layouts()
        .first()
        .cloned()
        .ok_or(ComputeError::BadSpirv("descriptor set 0"))?;
    DescriptorSet::new(
        allocator.clone(),
        set_layout,
        (0u32..)
            .zip(buffers)
            .map(|(binding, b)| WriteDescriptorSet::buffer(binding, b)),
        [],
    )
    .vk("writing a descriptor set")
}

/// Splits `groups` workgroups over a 2D grid within `report`'s workgroup count limits;
/// the shaders linearise it as `x + y * gl_NumWorkGroups.x` and skip the overhang.
pub(crate) fn grid(report: &DeviceReport, groups: u64) -> Result<[u32; 3], ComputeError> {
    let [max_x, max_y, _] = report.max_workgroup_count;
    let x = groups.clamp(1, u64::from(max_x));
    let y = groups.div_ceil(x).max(1);
    if y > u64::from(max_y) {
        return Err(ComputeError::DeviceLimit {
            what: "workgroups",
            value: groups,
            limit: u64::from(max_x) * u64::from(max_y),
        });
    }
    Ok([x as u32, y as u32, 1])
}

/// A storage buffer of `len` elements from `memory`, refused (before allocating) when its
/// bytes exceed the device's `max_range` (`maxStorageBufferRange`).
pub(crate) fn storage_slice<T: vulkano::buffer::BufferContents>(
    memory: &Arc<StandardMemoryAllocator>,
    len: usize,
    max_range: u32,
    what: &'static str,
    filter: MemoryTypeFilter,
) -> Result<Subbuffer<[T]>, ComputeError> {
    let bytes = (len as u64).saturating_mul(size_of::<T>() as u64);
    let limit = u64::from(max_range);
    if bytes > limit {
        return Err(ComputeError::DeviceLimit {
            what,
            value: bytes,
            limit,
        });
    }
    Buffer::new_slice::<T>(
        memory.clone(),
        BufferCreateInfo {
            usage: BufferUsage::STORAGE_BUFFER,
            ..Default::default()
        },
        AllocationCreateInfo {
            memory_type_filter: filter,
            ..Default::default()
        },
        len as u64,
    )
    .vk("allocating a buffer")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_discrete_gpu_ranks_first_and_a_cpu_driver_after_every_gpu() {
        let mut found = vec![
            PhysicalDeviceType::Cpu,
            PhysicalDeviceType::Other,
            PhysicalDeviceType::IntegratedGpu,
            PhysicalDeviceType::DiscreteGpu,
            PhysicalDeviceType::VirtualGpu,
        ];
        found.sort_by_key(|&t| device_rank(t));
        assert_eq!(
            found,
            vec![
                PhysicalDeviceType::DiscreteGpu,
                PhysicalDeviceType::IntegratedGpu,
                PhysicalDeviceType::VirtualGpu,
                PhysicalDeviceType::Cpu,
                PhysicalDeviceType::Other,
            ]
        );
    }
}
