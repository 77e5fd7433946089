"""Reading generation settings back from PNG metadata: chunks, A1111 text, ComfyUI graphs, our record."""

import json
import struct
import zlib
from pathlib import Path

import pytest

from anima_prompt.errors import ImageMetadataError
from anima_prompt.imagemeta import (
    ImageSettings,
    LoraSetting,
    parse_settings_line,
    read_png_text,
    settings_from_parameters,
    settings_from_png,
    settings_from_texts,
)
from anima_prompt.sampler_names import (
    name_tables,
    sampler_label,
    sampler_name,
    scheduler_label,
    scheduler_name,
    split_legacy_sampler,
)


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(*texts: bytes) -> bytes:
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\0\0\0\0"))
    return b"\x89PNG\r\n\x1a\n" + header + b"".join(texts) + pixels + chunk(b"IEND", b"")


def text(key: str, value: str) -> bytes:
    return chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))


def itext(key: str, value: str, *, compressed: bool = False) -> bytes:
    body = zlib.compress(value.encode()) if compressed else value.encode()
    return chunk(b"iTXt", key.encode() + b"\0" + bytes([compressed, 0]) + b"en\0\0" + body)


# ---- PNG chunks ---------------------------------------------------------------------------------


def test_png_text_chunks_of_every_kind(tmp_path: Path) -> None:
    ztxt = chunk(b"zTXt", b"workflow\0\0" + zlib.compress(b'{"nodes": []}'))
    data = png(
        text("parameters", "1girl"), ztxt, itext("prompt", "猫耳"), itext("anima", "{}", compressed=True)
    )
    path = tmp_path / "a.png"
    path.write_bytes(data)
    expected = {"parameters": "1girl", "workflow": '{"nodes": []}', "prompt": "猫耳", "anima": "{}"}
    assert read_png_text(path) == expected
    assert read_png_text(data) == expected


def test_not_a_png_and_truncated_files_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(b"GIF89a...")
    with pytest.raises(ImageMetadataError, match=r"x\.png: not a PNG file$"):
        read_png_text(path)
    with pytest.raises(ImageMetadataError, match="truncated PNG file"):
        read_png_text(png(text("parameters", "1girl"))[:40])
    with pytest.raises(ImageMetadataError, match="cannot read the file"):
        read_png_text(tmp_path / "missing.png")


def test_an_image_without_settings_says_what_it_found(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    path.write_bytes(png(text("Software", "GIMP")))
    with pytest.raises(ImageMetadataError) as error:
        settings_from_png(path)
    assert str(error.value) == (
        f"{path}: no generation settings: expected a text chunk 'anima', 'prompt', 'workflow', 'parameters' "
        "(found: Software)"
    )


# ---- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("Euler a", "euler_ancestral"),
        ("DPM++ 2M SDE", "dpmpp_2m_sde"),
        ("dpm++ 2m sde heun", "dpmpp_2m_sde_heun"),
        ("UniPC", "uni_pc"),
        ("ER SDE", "er_sde"),
        ("Res Multistep", "res_multistep"),
    ],
)
def test_sampler_labels(label: str, name: str) -> None:
    assert sampler_name(label) == name


def test_schedule_labels_and_legacy_sampler_names() -> None:
    assert scheduler_name("SGM Uniform") == "sgm_uniform" and scheduler_name("Uniform") == "normal"
    assert scheduler_name("Automatic") is None
    assert split_legacy_sampler("DPM++ 2M SDE Karras") == ("dpmpp_2m_sde", "karras")
    assert split_legacy_sampler("Euler a") == ("euler_ancestral", None)
    assert split_legacy_sampler("Frobnicate Karras") == (None, None)


def test_labels_written_round_trip_through_the_table() -> None:
    tables = name_tables()
    for name in set(tables.samplers.values()):
        assert sampler_name(sampler_label(name)) in (name, name.removesuffix("_gpu"))
    for name in set(tables.schedulers.values()):
        assert scheduler_name(scheduler_label(name)) == name
    assert (
        sampler_label("dpmpp_2m_sde_gpu") == "DPM++ 2M SDE" and sampler_label("new_sampler") == "new_sampler"
    )


# ---- A1111 / Forge --------------------------------------------------------------------------------

FORGE = (
    "masterpiece, 1girl, <lora:ink_style:0.8>, smile,\n"
    "she waves.\n"
    "Negative prompt: worst quality,\n"
    "lowres\n"
    "Steps: 28, Sampler: Euler a, Schedule type: SGM Uniform, CFG scale: 4.5, Seed: 1234, Size: 896x1152, "
    "Model hash: 0123456789, Model: anima-base-v1.0, Denoising strength: 0.55, "
    'Lora hashes: "ink_style: abc", '
    'ADetailer model: "face_yolov8n.pt", RNG: CPU, Version: f2.0.1'
)


def test_forge_parameters() -> None:
    settings = settings_from_parameters(FORGE)
    assert settings == ImageSettings(
        source="a1111",
        prompt="masterpiece, 1girl, smile,\nshe waves.",
        negative="worst quality,\nlowres",
        seed=1234,
        steps=28,
        cfg=4.5,
        sampler="euler_ancestral",
        scheduler="sgm_uniform",
        width=896,
        height=1152,
        strength=0.55,
        model="anima-base-v1.0",
        loras=(LoraSetting("ink_style", 0.8),),
        unmapped=("ADetailer model: face_yolov8n.pt", "RNG: CPU"),
    )


def test_quoted_values_keep_their_commas() -> None:
    line = 'Steps: 20, Sampler: "DPM++ 2M, odd", Lora hashes: "a: 1, b: 2", Seed: 5'
    assert parse_settings_line(line) == {
        "Steps": "20",
        "Sampler": "DPM++ 2M, odd",
        "Lora hashes": "a: 1, b: 2",
        "Seed": "5",
    }


def test_unknown_sampler_and_schedule_are_reported_and_hires_strength_is_not_img2img() -> None:
    settings = settings_from_parameters(
        "cat\nSteps: 20, Sampler: Wobbly 3, Schedule type: Zigzag, Denoising strength: 0.4, Hires upscale: 2"
    )
    assert (settings.sampler, settings.scheduler, settings.strength, settings.negative) == (
        None,
        None,
        None,
        None,
    )
    assert settings.unmapped == ("sampler 'Wobbly 3'", "schedule type 'Zigzag'", "Hires upscale: 2")


def test_text_without_settings_line_is_all_prompt() -> None:
    settings = settings_from_parameters("just a prompt\nsecond line")
    assert settings.known() == {"source": "a1111", "prompt": "just a prompt\nsecond line"}


def test_bad_lora_strength_is_reported_not_raised() -> None:
    settings = settings_from_parameters("1girl <lora:x:abc>\nSteps: 5")
    assert settings.loras == () and "strength 'abc' is not a number" in settings.unmapped[0]


# ---- ComfyUI API prompt ----------------------------------------------------------------------------


def anima_prompt_graph() -> dict[str, object]:
    """An Anima text-to-image graph as ComfyUI saves it in the `prompt` chunk, with two LoRAs."""
    return {
        "1": {
            "class_type": "UNETLoader",
            "inputs": {"unet_name": "anima-base-v1.0.safetensors", "weight_dtype": "default"},
        },
        "2": {
            "class_type": "CLIPLoader",
            "inputs": {"clip_name": "qwen_3_06b_base.safetensors", "type": "stable_diffusion"},
        },
        "3": {
            "class_type": "LoraLoader",
            "inputs": {
                "model": ["1", 0],
                "clip": ["2", 0],
                "lora_name": "style.safetensors",
                "strength_model": 0.7,
                "strength_clip": 0.7,
            },
        },
        "4": {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {"model": ["3", 0], "lora_name": "turbo.safetensors", "strength_model": 0.5},
        },
        "5": {
            "class_type": "CLIPTextEncode",
            "inputs": {"clip": ["3", 1], "text": "masterpiece, 1girl, @artist"},
        },
        "6": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["3", 1], "text": "worst quality"}},
        "7": {"class_type": "EmptyLatentImage", "inputs": {"width": 896, "height": 1152, "batch_size": 2}},
        "8": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["4", 0],
                "positive": ["5", 0],
                "negative": ["6", 0],
                "latent_image": ["7", 0],
                "seed": 42,
                "steps": 30,
                "cfg": 4.0,
                "sampler_name": "er_sde",
                "scheduler": "simple",
                "denoise": 1.0,
            },
        },
        "9": {"class_type": "VAEDecode", "inputs": {"samples": ["8", 0], "vae": ["10", 0]}},
        "10": {"class_type": "VAELoader", "inputs": {"vae_name": "qwen_image_vae.safetensors"}},
        "11": {"class_type": "SaveImage", "inputs": {"images": ["9", 0], "filename_prefix": "anima"}},
    }


def test_comfyui_prompt_ksampler_with_loras() -> None:
    settings = settings_from_texts({"prompt": json.dumps(anima_prompt_graph())})
    assert settings == ImageSettings(
        source="comfyui-prompt",
        prompt="masterpiece, 1girl, @artist",
        negative="worst quality",
        seed=42,
        steps=30,
        cfg=4.0,
        sampler="er_sde",
        scheduler="simple",
        width=896,
        height=1152,
        batch=2,
        denoise=1.0,
        noise="comfyui",
        model="anima-base-v1.0.safetensors",
        loras=(LoraSetting("style.safetensors", 0.7), LoraSetting("turbo.safetensors", 0.5)),
    )


def test_comfyui_prompt_lists_controlnets_shift_and_second_passes() -> None:
    graph = anima_prompt_graph()
    graph["12"] = {
        "class_type": "ControlNetApplyAdvanced",
        "inputs": {"positive": ["5", 0], "negative": ["6", 0], "strength": 0.6},
    }
    graph["13"] = {"class_type": "ModelSamplingAuraFlow", "inputs": {"model": ["4", 0], "shift": 2.0}}
    graph["8"]["inputs"] |= {"positive": ["12", 0], "negative": ["12", 1], "model": ["13", 0]}  # type: ignore[index]
    graph["14"] = {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["8", 0], "scale_by": 1.5}}
    graph["15"] = {
        "class_type": "KSampler",
        "inputs": {**graph["8"]["inputs"], "latent_image": ["14", 0], "denoise": 0.5},
    }  # type: ignore[index]
    settings = settings_from_texts({"prompt": json.dumps(graph)})
    assert (settings.prompt, settings.negative, settings.denoise) == (
        "masterpiece, 1girl, @artist",
        "worst quality",
        1.0,
    )
    assert settings.unmapped == (
        "ControlNetApplyAdvanced (node 12): ControlNet",
        "ModelSamplingAuraFlow (node 13): shift 2.0",
        "KSampler (node 15): another sampler pass",
    )


def test_comfyui_sampler_custom_advanced_img2img() -> None:
    graph = {
        "1": {"class_type": "UNETLoader", "inputs": {"unet_name": "anima.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": ["20", 0], "clip": ["9", 0]}},
        "20": {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "1girl, smile"}},
        "3": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["2", 0]}},
        "4": {
            "class_type": "CFGGuider",
            "inputs": {"model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "cfg": 4.5},
        },
        "5": {"class_type": "RandomNoise", "inputs": {"noise_seed": 99}},
        "6": {
            "class_type": "SamplerDPMPP_2M_SDE",
            "inputs": {"solver_type": "heun", "eta": 1.0, "s_noise": 1.0, "noise_device": "gpu"},
        },
        "7": {
            "class_type": "BasicScheduler",
            "inputs": {"model": ["1", 0], "scheduler": "beta", "steps": 20, "denoise": 0.6},
        },
        "8": {"class_type": "LoadImage", "inputs": {"image": "photo.png", "upload": "image"}},
        "10": {"class_type": "VAEEncode", "inputs": {"pixels": ["8", 0], "vae": ["11", 0]}},
        "12": {
            "class_type": "SamplerCustomAdvanced",
            "inputs": {
                "noise": ["5", 0],
                "guider": ["4", 0],
                "sampler": ["6", 0],
                "sigmas": ["7", 0],
                "latent_image": ["10", 0],
            },
        },
        "9": {"class_type": "CLIPLoader", "inputs": {"clip_name": "qwen.safetensors"}},
    }
    settings = settings_from_texts({"prompt": json.dumps(graph)})
    assert settings.known() == {
        "source": "comfyui-prompt",
        "prompt": "1girl, smile",
        "negative": "",
        "seed": 99,
        "steps": 20,
        "cfg": 4.5,
        "sampler": "dpmpp_2m_sde_heun_gpu",
        "scheduler": "beta",
        "denoise": 0.6,
        "noise": "comfyui",
        "model": "anima.safetensors",
        "init_image": "photo.png",
        "unmapped": ("ConditioningZeroOut (node 3): zeroed conditioning read as an empty prompt",),
    }


def test_comfyui_sampler_custom_with_sampler_node_and_basic_guider() -> None:
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "anima_aio.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "cat", "clip": ["1", 1]}},
        "3": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler_ancestral"}},
        "4": {
            "class_type": "KarrasScheduler",
            "inputs": {"steps": 12, "sigma_max": 1.0, "sigma_min": 0.01, "rho": 7.0},
        },
        "5": {
            "class_type": "EmptySD3LatentImage",
            "inputs": {"width": 1024, "height": 1024, "batch_size": 1},
        },
        "6": {
            "class_type": "SamplerCustom",
            "inputs": {
                "model": ["1", 0],
                "add_noise": True,
                "noise_seed": 3,
                "cfg": 1.0,
                "positive": ["2", 0],
                "negative": ["2", 0],
                "sampler": ["3", 0],
                "sigmas": ["4", 0],
                "latent_image": ["5", 0],
            },
        },
    }
    settings = settings_from_texts({"prompt": json.dumps(graph)})
    assert (settings.sampler, settings.steps, settings.scheduler, settings.width, settings.seed) == (
        "euler_ancestral",
        12,
        None,
        1024,
        3,
    )
    assert settings.unmapped == ("KarrasScheduler (node 4): sigmas",)


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("[1, 2]", "ComfyUI prompt: expected an object of nodes"),
        ('{"1": {"inputs": {}}}', "ComfyUI prompt: node 1 has no class_type"),
        (
            '{"1": {"class_type": "VAELoader", "inputs": {}}}',
            "ComfyUI graph: no KSampler or SamplerCustom node",
        ),
        (
            '{"1": {"class_type": "KSampler", "inputs": {"model": ["7", 0]}}}',
            "ComfyUI graph: node 1 links to missing node 7",
        ),
        (
            '{"1": {"class_type": "KSampler", "inputs": {"steps": "many"}}}',
            "ComfyUI graph: steps 'many' is not a number",
        ),
        ("{not json", "the 'prompt' text is not JSON: "),
    ],
)
def test_malformed_comfyui_prompts(prompt: str, message: str) -> None:
    with pytest.raises(ImageMetadataError, match="^" + message.replace("[", r"\[")):
        settings_from_texts({"prompt": prompt})


# ---- ComfyUI UI workflow --------------------------------------------------------------------------


def ui_workflow() -> dict[str, object]:
    """The same Anima graph in the UI format: widgets_values in widget order, links as lists."""

    def node(
        node_id: int, kind: str, values: list[object], inputs: list[tuple[str, int | None]], mode: int = 0
    ) -> dict[str, object]:
        return {
            "id": node_id,
            "type": kind,
            "mode": mode,
            "widgets_values": values,
            "inputs": [{"name": name, "type": "*", "link": link} for name, link in inputs],
        }

    nodes = [
        node(1, "UNETLoader", ["anima-base-v1.0.safetensors", "default"], []),
        node(2, "CLIPLoader", ["qwen_3_06b_base.safetensors", "stable_diffusion", "default"], []),
        node(3, "LoraLoaderModelOnly", ["style.safetensors", 0.8], [("model", 1)]),
        node(4, "CLIPTextEncode", ["1girl, smile"], [("clip", 2)]),
        node(5, "CLIPTextEncode", ["lowres"], [("clip", 3)]),
        node(6, "EmptyLatentImage", [1024, 1024, 1], []),
        node(
            7,
            "KSampler",
            [0, "randomize", 30, 4.5, "euler_ancestral", "normal", 1.0],
            [("model", 4), ("positive", 5), ("negative", 6), ("latent_image", 7), ("seed", 8)],
        ),
        node(8, "PrimitiveNode", [777, "fixed"], []),
        node(9, "Reroute", [], [("", 6)]),
        node(10, "UpscaleModelLoader", ["4x.pth"], [], mode=2),
    ]
    links = [
        [1, 1, 0, 3, 0, "MODEL"],
        [2, 2, 0, 4, 0, "CLIP"],
        [3, 2, 0, 5, 0, "CLIP"],
        [4, 3, 0, 7, 0, "MODEL"],
        [5, 4, 0, 7, 1, "CONDITIONING"],
        [6, 5, 0, 9, 0, "CONDITIONING"],
        [10, 9, 0, 7, 2, "CONDITIONING"],
        [7, 6, 0, 7, 3, "LATENT"],
        [8, 8, 0, 7, 4, "INT"],
    ]
    for entry in nodes:  # the negative reaches the sampler through the Reroute
        if entry["id"] == 7:
            entry["inputs"][2]["link"] = 10  # type: ignore[index]
    return {"nodes": nodes, "links": links, "version": 0.4}


def test_comfyui_ui_workflow() -> None:
    settings = settings_from_texts({"workflow": json.dumps(ui_workflow())})
    assert settings.known() == {
        "source": "comfyui-workflow",
        "prompt": "1girl, smile",
        "negative": "lowres",
        "seed": 777,  # from the PrimitiveNode linked to the seed widget, not the stale widget value
        "steps": 30,
        "cfg": 4.5,
        "sampler": "euler_ancestral",
        "scheduler": "normal",
        "width": 1024,
        "height": 1024,
        "batch": 1,
        "denoise": 1.0,
        "noise": "comfyui",
        "model": "anima-base-v1.0.safetensors",
        "loras": (LoraSetting("style.safetensors", 0.8),),
        "unmapped": ("UpscaleModelLoader (node 10): muted",),
    }


def test_the_api_prompt_is_preferred_to_the_workflow() -> None:
    texts = {"workflow": json.dumps(ui_workflow()), "prompt": json.dumps(anima_prompt_graph())}
    assert settings_from_texts(texts).source == "comfyui-prompt"


# ---- this toolkit's record ----------------------------------------------------------------------------


def record(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "format": 1,
        "prompt": "1girl",
        "negative": "",
        "seed": 5,
        "sampler": "er_sde",
        "scheduler": "simple",
        "steps": 30,
        "cfg": 4.0,
        "width": 1024,
        "height": 1024,
        "variant": "base",
        "strength": 1.0,
        "models": [{"role": "dit", "name": "anima-base-v1.0.safetensors", "sha256": None, "weight": None}],
        "loras": [{"role": "lora", "name": "style.safetensors", "sha256": None, "weight": 0.6}],
        "version": "0.1.0",
    }
    return data | changes


def test_the_toolkit_record_is_preferred_and_old_records_are_anima_noise(tmp_path: Path) -> None:
    path = tmp_path / "ours.png"
    path.write_bytes(png(itext("anima", json.dumps(record())), text("parameters", "other\nSteps: 2")))
    settings = settings_from_png(path)
    assert settings.known() == {
        "source": "anima",
        "prompt": "1girl",
        "negative": "",
        "seed": 5,
        "steps": 30,
        "cfg": 4.0,
        "sampler": "er_sde",
        "scheduler": "simple",
        "width": 1024,
        "height": 1024,
        "strength": 1.0,
        "noise": "anima",
        "model": "anima-base-v1.0.safetensors",
        "loras": (LoraSetting("style.safetensors", 0.6),),
    }
    newer = settings_from_texts(
        {"anima": json.dumps(record(noise="comfyui", batch=3, batch_index=2, denoise=0.5))}
    )
    assert (newer.noise, newer.batch, newer.batch_index, newer.denoise) == ("comfyui", 3, 2, 0.5)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("nope", "the 'anima' record is not JSON"),
        ("[]", "the 'anima' record is not a JSON object"),
        (json.dumps(record(seed="5")), "the 'anima' record's 'seed' has the wrong type: '5'"),
        (
            json.dumps(record(loras=[{"weight": 1}])),
            "the 'anima' record's 'loras' is not a list of files with names",
        ),
    ],
)
def test_malformed_records(data: str, message: str) -> None:
    with pytest.raises(ImageMetadataError, match="^" + message):
        settings_from_texts({"anima": data})


def test_a_graph_whose_links_loop_is_an_error_not_a_hang() -> None:
    graph = {
        "1": {"class_type": "KSampler", "inputs": {"model": ["2", 0], "seed": 1}},
        "2": {
            "class_type": "LoraLoaderModelOnly",
            "inputs": {"model": ["2", 0], "lora_name": "x", "strength_model": 1},
        },
    }
    with pytest.raises(ImageMetadataError, match=r"^ComfyUI graph: the links through node 2 form a cycle$"):
        settings_from_texts({"prompt": json.dumps(graph)})
