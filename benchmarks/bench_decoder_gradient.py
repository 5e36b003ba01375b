import torch, time, warnings
warnings.filterwarnings("ignore")
torch.set_num_threads(1)
def bench(R,N,M,C,S):
    keys=torch.stack([torch.randperm(M)[:S] for _ in range(R*N)]).view(R,N,S)
    vals=torch.rand(R,N,S); G=torch.randn(R,N,C); buf=torch.randn(R,M,C)
    def dense():
        hist=torch.zeros(R,N,M).scatter_add_(2,keys,vals)
        buf.baddbmm_(hist.transpose(1,2),G,beta=0.9)
    def sparse_coo():
        rows=(keys+ (torch.arange(R)*M).view(R,1,1)).reshape(-1)
        cols=torch.arange(R*N).repeat_interleave(S)
        Ft=torch.sparse_coo_tensor(torch.stack([rows,cols]), vals.reshape(-1), (R*M,R*N))
        out=torch.sparse.mm(Ft, G.reshape(R*N,C))
        buf.mul_(0.9).add_(out.view(R,M,C))
    def index_add():
        buf.mul_(0.9)
        rows=(keys+ (torch.arange(R)*M).view(R,1,1))
        src=(vals.unsqueeze(-1)*G.unsqueeze(2))
        buf.view(R*M,C).index_add_(0, rows.reshape(-1), src.reshape(-1,C))
    def mom_only():
        buf.mul_(0.9)
    out=[]
    for f in (dense,sparse_coo,index_add,mom_only):
        f(); t=time.perf_counter()
        for _ in range(3): f()
        out.append(f"{f.__name__} {(time.perf_counter()-t)/3*1e3:.1f}")
    print(R,N,M,C,S, out)
bench(160,128,240,240,21)
bench(16,128,1000,1000,21)
bench(4,128,2000,2000,21)
bench(1,128,5000,5000,21)
bench(1,128,5000,5000,200)
