NAME cvxcnn
ROWS
 N  obj
 E  r0
 L  r1
COLUMNS
    x0 obj 1
    x0 r0 1
    x0 r1 1
    x1 obj -1
    x1 r0 1
    x1 r1 -1
RHS
    RHS obj -0.5
    RHS r0 1
    RHS r1 -1.5
BOUNDS
 FR BND x0
 FR BND x1
QUADOBJ
    x0 x0 2
    x1 x1 2
ENDATA
