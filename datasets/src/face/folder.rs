//! Image folders in the WebFace / ImageFolder layout (`root/<identity>/<image>`) and plain list files.

use std::path::{Path, PathBuf};

use image::RgbImage;

use crate::error::{DataError, Result};
use crate::face::{decode_rgb, FaceImages, Landmarks};

/// File extensions treated as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "pgm", "ppm", "pnm"];

#[derive(Debug, Clone)]
struct FolderItem {
    path: PathBuf,
    label: u32,
    landmarks: Option<Landmarks>,
}

/// Face images listed from a folder tree or a list file.
#[derive(Debug, Clone)]
pub struct ImageFolder {
    items: Vec<FolderItem>,
    identities: Vec<String>,
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        entries.push(entry.map_err(|e| DataError::io(dir, e))?.path());
    }
    entries.sort();
    Ok(entries)
}

impl ImageFolder {
    /// Lists `root/<identity>/<image>`: identities are the sub-folders in sorted name order
    /// (label 0 is the first, as torchvision `ImageFolder`), images are files with an
    /// [`IMAGE_EXTENSIONS`] extension, sorted by name. Folders without images get no label.
    pub fn open(root: &Path) -> Result<Self> {
        let mut items = Vec::new();
        let mut identities = Vec::new();
        for dir in sorted_entries(root)?.into_iter().filter(|p| p.is_dir()) {
            let images: Vec<PathBuf> = sorted_entries(&dir)?
                .into_iter()
                .filter(|p| p.is_file() && is_image(p))
                .collect();
            if images.is_empty() {
                continue;
            }
            let label = identities.len() as u32;
            identities.push(
                dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            items.extend(images.into_iter().map(|path| FolderItem {
                path,
                label,
                landmarks: None,
            }));
        }
        if items.is_empty() {
            return Err(DataError::format(
                root,
                "no `<identity>/<image>` files found",
            ));
        }
        Ok(Self { items, identities })
    }

    /// Reads a list file whose relative paths are resolved against `root` (default: the list's folder).
    ///
    /// Two line formats are accepted: the im2rec `.lst` form `index<TAB>label<TAB>path`, and
    /// `path label` optionally followed by ten numbers, the five landmarks `x1 y1 ... x5 y5`
    /// used to align the face. Blank lines and lines starting with `#` are ignored.
    pub fn from_list(list: &Path, root: Option<&Path>) -> Result<Self> {
        let text = std::fs::read_to_string(list).map_err(|e| DataError::io(list, e))?;
        let base = root
            .map(Path::to_path_buf)
            .unwrap_or_else(|| list.parent().unwrap_or(Path::new(".")).to_path_buf());
        let mut items = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (path, label, landmarks) = parse_list_line(line).map_err(|reason| {
                DataError::format(list, format!("line {}: {reason}: {line:?}", n + 1))
            })?;
            items.push(FolderItem {
                path: base.join(path),
                label,
                landmarks,
            });
        }
        if items.is_empty() {
            return Err(DataError::format(list, "the list has no entries"));
        }
        // Labels as written may be sparse or huge (e.g. 4294967295): they are mapped to dense
        // class ids in increasing order, and `identities()` keeps the written labels.
        let written: std::collections::BTreeSet<u32> = items.iter().map(|it| it.label).collect();
        let dense: std::collections::HashMap<u32, u32> = written
            .iter()
            .enumerate()
            .map(|(id, &label)| (label, id as u32))
            .collect();
        for item in &mut items {
            item.label = dense[&item.label];
        }
        let identities = written.iter().map(|l| l.to_string()).collect();
        Ok(Self { items, identities })
    }

    /// The identity names, indexed by label: folder names, or for lists the labels as written
    /// (a list's labels are mapped to dense ids `0..n` in increasing order).
    pub fn identities(&self) -> &[String] {
        &self.identities
    }

    /// The path of image `index`.
    pub fn path(&self, index: usize) -> &Path {
        &self.items[index].path
    }
}

fn parse_label(text: &str) -> std::result::Result<u32, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("label {text:?} is not a number"))?;
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= f64::from(u32::MAX) {
        Ok(value as u32)
    } else {
        Err(format!("label {text:?} is not a class index"))
    }
}

type ListEntry = (String, u32, Option<Landmarks>);

fn parse_list_line(line: &str) -> std::result::Result<ListEntry, String> {
    let tabbed: Vec<&str> = line.split('\t').collect();
    if tabbed.len() >= 3 && tabbed[0].trim().parse::<u64>().is_ok() {
        let path = tabbed[tabbed.len() - 1].trim().to_string();
        return Ok((path, parse_label(tabbed[1].trim())?, None));
    }
    let fields: Vec<&str> = line.split_whitespace().collect();
    match fields.len() {
        2 => Ok((fields[0].to_string(), parse_label(fields[1])?, None)),
        12 => {
            let mut values = [0f32; 10];
            for (v, text) in values.iter_mut().zip(&fields[2..]) {
                *v = text.parse().map_err(|_| format!("landmark {text:?} is not a number"))?;
            }
            let landmarks = std::array::from_fn(|k| [values[2 * k], values[2 * k + 1]]);
            Ok((fields[0].to_string(), parse_label(fields[1])?, Some(landmarks)))
        }
        n => Err(format!("expected `path label` (+ 10 landmark values) or `index<TAB>label<TAB>path`, got {n} fields")),
    }
}

impl FaceImages for ImageFolder {
    fn len(&self) -> usize {
        self.items.len()
    }

    fn label(&self, index: usize) -> u32 {
        self.items[index].label
    }

    fn num_identities(&self) -> usize {
        self.identities.len()
    }

    fn describe(&self, index: usize) -> String {
        self.items[index].path.display().to_string()
    }

    fn identity_name(&self, label: u32) -> String {
        self.identities
            .get(label as usize)
            .cloned()
            .unwrap_or_else(|| label.to_string())
    }

    fn image(&self, index: usize) -> Result<RgbImage> {
        let path = &self.items[index].path;
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        decode_rgb(&bytes, &path.display().to_string())
    }

    fn encoded(&self, index: usize) -> Option<Result<Vec<u8>>> {
        let path = &self.items[index].path;
        Some(std::fs::read(path).map_err(|e| DataError::io(path, e)))
    }

    fn landmarks(&self, index: usize) -> Option<Landmarks> {
        self.items[index].landmarks
    }
}
