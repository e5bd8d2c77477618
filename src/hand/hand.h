/*
 * hand.h - what the hand pipeline tells the rest of Lacquer about one hand.
 *
 * Plain data, no ownership: an lq_hand is copied by value. Landmark indices
 * follow MediaPipe (0 wrist; thumb 1-4; index 5-8; middle 9-12; ring 13-16;
 * pinky 17-20; for each finger MCP, PIP, DIP, TIP; the thumb's are CMC, MCP,
 * IP, TIP).
 */
#ifndef LQ_HAND_HAND_H
#define LQ_HAND_HAND_H

#define LQ_HAND_LANDMARKS 21
#define LQ_HAND_MAX 2

enum lq_landmark_id {
    LQ_LM_WRIST = 0,
    LQ_LM_THUMB_CMC, LQ_LM_THUMB_MCP, LQ_LM_THUMB_IP, LQ_LM_THUMB_TIP,
    LQ_LM_INDEX_MCP, LQ_LM_INDEX_PIP, LQ_LM_INDEX_DIP, LQ_LM_INDEX_TIP,
    LQ_LM_MIDDLE_MCP, LQ_LM_MIDDLE_PIP, LQ_LM_MIDDLE_DIP, LQ_LM_MIDDLE_TIP,
    LQ_LM_RING_MCP, LQ_LM_RING_PIP, LQ_LM_RING_DIP, LQ_LM_RING_TIP,
    LQ_LM_PINKY_MCP, LQ_LM_PINKY_PIP, LQ_LM_PINKY_DIP, LQ_LM_PINKY_TIP,
};

typedef struct lq_point3 {
    float x, y, z;
} lq_point3;

/* A rotated rectangle in normalized image coordinates, exactly MediaPipe's
 * NormalizedRect: centre (x in [0,1] of the width, y of the height), width and
 * height as fractions of the image width and height, rotation in radians
 * (clockwise on screen, since y points down; 0 = upright). A hand ROI is
 * square in pixels, so w * image_width == h * image_height. */
typedef struct lq_hand_rect {
    float cx, cy, w, h, rotation;
} lq_hand_rect;

/* Handedness as MediaPipe reports it: it assumes a mirrored (selfie) image,
 * so "Left" is the subject's right hand on an unmirrored camera frame. */
enum lq_handedness { LQ_HAND_LEFT = 0, LQ_HAND_RIGHT = 1 };

typedef struct lq_hand {
    /* Landmarks in frame pixels: x right, y down; z in pixels at the scale of
     * x, relative to the wrist, smaller = closer to the camera. */
    lq_point3 lm[LQ_HAND_LANDMARKS];
    /* World landmarks in metres, origin near the hand's centre. */
    lq_point3 world[LQ_HAND_LANDMARKS];
    float presence;          /* hand presence score in [0,1] */
    float handedness_score;  /* probability of `handedness` in [0.5,1] */
    enum lq_handedness handedness;
    float detection_score;   /* palm detector score of the detection this track came from */
    int track_id;            /* stable while the hand is tracked */
    lq_hand_rect roi;        /* the landmark model's input region for this frame */
} lq_hand;

/* Where the time of one frame went, in milliseconds (0 for stages not run). */
typedef struct lq_hand_timings {
    double palm_ms;          /* palm detector inference + decoding + NMS */
    double landmark_ms;      /* landmark model inference + decoding, all hands */
    double warp_ms;          /* affine warps into the model inputs, both stages */
    double total_ms;         /* the whole frame, smoothing included */
    int palm_runs;           /* 1 if the palm detector ran on this frame */
    int landmark_runs;       /* landmark model invocations on this frame */
} lq_hand_timings;

typedef struct lq_hands {
    int count;
    lq_hand hand[LQ_HAND_MAX];
    lq_hand_timings t;
} lq_hands;

#endif
