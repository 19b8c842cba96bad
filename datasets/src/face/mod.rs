//! Face data: RecordIO, image folders, insightface `.bin`, the image pipeline, synthetic and ORL faces.
